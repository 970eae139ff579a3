"""What every command shares: the workspace option, the acting user, dates, and the one-line error."""
from __future__ import annotations

import argparse
import datetime as dt
import os

from ..calendar import as_date
from ..evaluation import workflow
from ..evaluation.scoring import ScoringError
from ..instruments.programs import ProgramError
from ..instruments.rubric import RubricError
from ..store import StoreError, open_store

__all__ = ["CommandError", "USER_ERRORS", "default_workspace", "add_workspace_arg", "store_from", "parse_date",
           "actor"]

#: Errors that are the user's to fix: printed as one line, never as a traceback.
USER_ERRORS = (workflow.WorkflowError, StoreError, RubricError, ProgramError, ScoringError, FileNotFoundError,
               ValueError)


class CommandError(Exception):
    """A command that cannot do what was asked; the message is the one line shown."""


def default_workspace() -> str:
    return os.environ.get("EVALKIT_WORKSPACE") or os.environ.get("EVALKIT_DB") or "workspace"


def add_workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workspace", default=None, metavar="DIR|URL",
                        help="workspace folder or database URL (default: $EVALKIT_WORKSPACE or ./workspace)")


def store_from(args):
    return open_store(args.workspace or default_workspace())


def parse_date(value: str | None, what: str) -> dt.date:
    """A YYYY-MM-DD option, or today when not given."""
    return dt.date.today() if value is None else as_date(value, what, CommandError)


def actor() -> str:
    return os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or "admin"
