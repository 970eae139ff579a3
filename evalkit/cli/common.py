"""What every command shares: the workspace option, the acting user, dates, the one-line error, and the parser.

Nothing heavy is imported here or at the top of any command module: ``evalkit --help`` builds every command's
parser without importing the database layer, pandas or SciPy, and each command imports what it uses when it
runs. An option whose choices come from a domain module (the states of a certificate, the roles...) is added when
its command is parsed or its help shown (:meth:`Parser.later`).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os

__all__ = ["CommandError", "USER_ERRORS", "default_workspace", "add_workspace_arg", "store_from", "parse_date",
           "actor", "whole_number", "record_id", "id_ranges", "group", "command", "Parser", "user_errors"]


def user_errors() -> tuple[type[Exception], ...]:
    """Errors that are the user's to fix: printed as one line, never as a traceback (imported when needed)."""
    from ..access import AccessError
    from ..evaluation import workflow
    from ..evaluation.scoring import ScoringError
    from ..instruments.programs import ProgramError
    from ..instruments.rubric import RubricError
    from ..store import StoreError

    return (workflow.WorkflowError, StoreError, RubricError, ProgramError, ScoringError, FileNotFoundError,
            ValueError, AccessError)


def __getattr__(name: str):
    if name == "USER_ERRORS":  # the tuple, as before: importing it imports the modules that define the errors
        return user_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Parser(argparse.ArgumentParser):
    """An argument parser some of whose arguments are added when it is first used: parsing its arguments, or
    showing its usage or help. ``evalkit --help`` then lists every command without importing what their options
    need (the choices of ``--state`` come from the certificates module, which imports the database layer)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._later: list = []

    def later(self, add):
        """Run ``add(parser)`` before this parser is first used (a decorator); returns ``add``."""
        self._later.append(add)
        return add

    def _complete(self) -> None:
        while self._later:
            self._later.pop(0)(self)

    def parse_known_args(self, args=None, namespace=None):
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_usage(self):
        self._complete()
        return super().format_usage()

    def format_help(self):
        self._complete()
        return super().format_help()


class CommandError(Exception):
    """A command that cannot do what was asked; the message is the one line shown."""


def default_workspace() -> str:
    return os.environ.get("EVALKIT_WORKSPACE") or os.environ.get("EVALKIT_DB") or "workspace"


def add_workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", default=None, metavar="DIR|URL",
                        help="workspace folder or database URL (default: $EVALKIT_WORKSPACE or ./workspace)")


def store_from(args):
    from ..store import open_store

    return open_store(args.workspace or default_workspace())


def parse_date(value: str | None, what: str) -> dt.date:
    """A YYYY-MM-DD option, or today when not given."""
    if value is None:
        return dt.date.today()
    from ..calendar import as_date

    return as_date(value, what, CommandError)


def actor() -> str:
    return os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or "admin"


def whole_number(minimum: int = 0, maximum: int = 2**63 - 1):
    """An argparse type: a whole number from ``minimum`` to ``maximum`` (default: a 64-bit integer), ASCII digits.

    ``int()`` alone would take ``٤`` as 4 and ``1_000`` as 1000, and a 20-digit id would overflow the database's
    64-bit integers with a traceback.
    """
    def parse(text: str) -> int:
        digits = text.strip()
        if not (digits.isascii() and digits.lstrip("-").isdigit()):
            raise ValueError(text)  # argparse: "invalid int value: '...'"
        if len(digits.lstrip("-")) > 19 or not minimum <= int(digits) <= maximum:
            shown = digits if len(digits) <= 19 else f"a {len(digits)}-digit number"
            bound = "or more" if maximum == 2**63 - 1 else f"to {maximum}"
            raise argparse.ArgumentTypeError(f"expected {minimum} {bound}, got {shown}")
        return int(digits)
    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


#: An argparse type for the id of a record (submission, agent): a positive 64-bit integer.
record_id = whole_number(1)


def id_ranges(ids: list[int]) -> str:
    """Ids as a reader wants them: ``1, 2, 5-40000`` (a run of three or more as a range), not 40,000 numbers."""
    parts, run = [], []
    for i in ids + [None]:
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)))
        run = [i] if i is not None else []
    return ", ".join(parts)


def group(subparsers, name: str, help_text: str):
    """A command group (``evalkit raters ...``); returns the subparsers its actions are added to."""
    return subparsers.add_parser(name, help=help_text).add_subparsers(dest=f"{name}_command", metavar="ACTION",
                                                                      required=True)


def command(subparsers, name: str, func, help_text: str, workspace: bool = True) -> argparse.ArgumentParser:
    """A command, or an action of a group, that runs ``func(args)``; it takes ``-w DIR|URL`` unless told not to."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    if workspace:
        add_workspace_arg(parser)
    parser.set_defaults(func=func)
    return parser
