"""``evalkit.eligibility``: the eligibility rule sets' public import path (a design contract).

It lives in :mod:`evalkit.instruments.eligibility`; this module re-exports it unchanged.
"""
from .instruments.eligibility import *  # noqa: F401,F403
from .instruments.eligibility import __all__  # noqa: F401
