"""``evalkit.rubric``: the rubric loader's public import path (a design contract).

It lives in :mod:`evalkit.instruments.rubric`; this module re-exports it unchanged.
"""
from .instruments.rubric import *  # noqa: F401,F403
from .instruments.rubric import __all__  # noqa: F401
