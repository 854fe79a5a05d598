"""The ``metarl`` command line: one module per command, dispatched by :func:`main`.

Commands: ``run``, ``status``, ``best``, ``worker``, ``learner fit``, ``propose``,
``compare``. A command module exposes ``add_parser(subparsers)``, which registers its parser
with ``set_defaults(func=...)``; a new command is one more module in ``COMMANDS``.
"""

from metarl.cli._main import COMMANDS, CliError, main

__all__ = ["COMMANDS", "CliError", "main"]
