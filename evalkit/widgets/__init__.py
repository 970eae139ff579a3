"""ipywidgets views over :mod:`evalkit.evaluation.workflow`: the SME scoring workbench and the adjudicator's view.

Each notebook is one line, ``scoring_app()`` or ``adjudication_app()``; the logic lives in evalkit's modules.
"""
from .adjudication import AdjudicationApp, AdjudicationForm, adjudication_app
from .agent import AgentPage, agent_app
from .scoring import ScoringApp, ScoringForm, scoring_app
from .self_assessment import SelfAssessmentPage, self_assessment_app
from .standard_setting import StandardSettingApp, standard_setting_app

__all__ = ["scoring_app", "ScoringApp", "ScoringForm", "adjudication_app", "AdjudicationApp", "AdjudicationForm",
           "agent_app", "AgentPage", "self_assessment_app", "SelfAssessmentPage", "standard_setting_app",
           "StandardSettingApp"]
