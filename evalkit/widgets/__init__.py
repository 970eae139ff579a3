"""ipywidgets views over :mod:`evalkit.evaluation.workflow`: the SME scoring workbench and the adjudicator's view.

Each notebook is one line, ``scoring_app()`` or ``adjudication_app()``; the logic lives in evalkit's modules.

The views are imported when first named (``from evalkit.widgets import scoring_app`` imports the scoring view
only): every page a Voila kernel opens pays for its own view's imports, not for the psychometricians' (scipy).
"""
from __future__ import annotations

import importlib

#: Each view's public names, by the module that defines them.
_VIEWS = {
    "adjudication": ("adjudication_app", "AdjudicationApp", "AdjudicationForm"),
    "agent": ("agent_app", "AgentPage"),
    "scoring": ("scoring_app", "ScoringApp", "ScoringForm"),
    "self_assessment": ("self_assessment_app", "SelfAssessmentPage"),
    "standard_setting": ("standard_setting_app", "StandardSettingApp"),
}
_MODULE_OF = {name: module for module, names in _VIEWS.items() for name in names}

__all__ = list(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
