"""The examples in the docstrings run and print what they say (numpydoc ``Examples`` sections)."""
import doctest
import importlib
import pkgutil

import pytest

import evalkit

# Not importable on their own: ``__main__`` runs the command line, Alembic's migration scripts run inside Alembic.
MODULES = sorted(m.name for m in pkgutil.walk_packages(evalkit.__path__, "evalkit.")
                 if not m.name.endswith(".__main__") and ".migrations" not in m.name)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_statistics_have_examples():
    from evalkit.psychometrics import agreement
    assert doctest.testmod(agreement).attempted >= 10
