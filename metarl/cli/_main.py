"""Argument parsing, dispatch, and the one-line error contract (exit code 2, no traceback)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

#: Modules of the commands, in help order (each has ``add_parser(subparsers)``).
COMMANDS = [
    "metarl.cli._run",
    "metarl.cli._status",
    "metarl.cli._worker",
    "metarl.cli._learner",
    "metarl.cli._propose",
    "metarl.cli._compare",
]


class CliError(Exception):
    """Bad input: printed as one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser with the one-line error contract: a bad option is one line on
    stderr naming it (``metarl worker: error: argument --timeout: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metarl",
        description="Predict a training config's metric before training it, and search with it.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``metarl`` script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    import optuna

    # the console shows metarl's own progress; Optuna's INFO lines (a study created, each
    # trial finished) would interleave with it
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("metarl: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the contract: one line, exit 2, unless --debug
        if args.debug:
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"metarl {args.command}: error: {msg}", file=sys.stderr)
        return 2
