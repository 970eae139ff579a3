"""``evalkit.agreement``: the agreement coefficients' public import path (a design contract).

They live in :mod:`evalkit.psychometrics.agreement`; this module re-exports them unchanged.
"""
from .psychometrics.agreement import *  # noqa: F401,F403
from .psychometrics.agreement import __all__  # noqa: F401
