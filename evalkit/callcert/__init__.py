"""Call certification of newly trained agents (see :mod:`evalkit.callcert.core`)."""
from .core import *  # noqa: F401,F403
from .core import __all__  # noqa: F401
