"""evalkit: evaluate certification work products and call certifications (see docs/architecture.md)."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evalkit")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
