"""`evalkit ...`: the admin's command line. Thin: every command calls the same functions as the notebooks.

This package is the only code that parses arguments or prints for a terminal. Each module registers one group
of commands (``register(subparsers)``). Every command exits 0 on success and 1 with a one-line
``evalkit: error: ...`` on bad input (2 for usage errors, as argparse does).
"""
from __future__ import annotations

import importlib
import os
import sys

from .common import CommandError, Parser, user_errors

# The modules of this package that add commands, in the order `evalkit --help` lists them.
_COMMAND_MODULES = ("workspace", "db", "certification", "certificates", "appeals", "agreement", "callcert", "serve",
                    "hub", "letters", "outbox")


def build_parser() -> Parser:
    """Every command's parser; what a command imports is imported when it runs (``evalkit --help`` imports no
    domain module)."""
    parser = Parser(prog="evalkit", description="Evaluate certification work products and calls.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CommandError, *user_errors()) as exc:  # evaluated only when something was raised
        from ..instruments.rubric import RubricError

        lines = str(exc).splitlines() or [type(exc).__name__]
        if isinstance(exc, RubricError) and len(lines) > 1:  # one line per rubric problem is validate's job
            lines = [f"{lines[0]} (and {len(lines) - 1} more: `evalkit rubric validate FILE` lists them all)"]
        print(f"evalkit: error: {'; '.join(lines)}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `evalkit status | head`: the reader stopped reading. Point stdout at /dev/null so the interpreter's
        # final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("evalkit: interrupted", file=sys.stderr)
        return 130
    return 0

