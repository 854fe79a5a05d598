"""Where ``metarl propose`` proposes: ``--context`` (the dataset, or any context feature of the
space, the configs are for) and ``--focus`` (a subspace, :meth:`SearchSpace.restrict`'s
keywords as JSON or a YAML file)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from metarl.cli._common import read_yaml
from metarl.cli._main import CliError


def assignment(text: str) -> tuple[str, str]:
    """An argparse type: ``NAME=VALUE``."""
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_where_args(p: Any) -> None:
    """The ``--context`` and ``--focus`` options."""
    p.add_argument(
        "--context",
        type=assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a context feature of the space, e.g. dataset=protein_structure",
    )
    p.add_argument(
        "--focus",
        default=None,
        metavar="JSON_OR_YAML",
        help="propose only inside a subspace: a JSON object or a YAML file with fixed, "
        'ranges, choices and items, e.g. \'{"fixed": {"lr_schedule": "const"}}\'',
    )


def read_focus(text: str, space: Any) -> Any:
    """The subspace of ``--focus`` (a JSON object, or the path of a YAML file).

    Raises:
        CliError: one line: invalid JSON/YAML, a missing file, or a focus that
            :func:`metarl.study._settings.check_focus` refuses (unknown parameter, value
            outside the space, empty).
    """
    from metarl.study._settings import check_focus

    if text.lstrip().startswith("{"):
        try:
            focus = json.loads(text)
        except json.JSONDecodeError as e:
            raise CliError(f"--focus: invalid JSON: {e}") from None
    else:
        try:
            focus = read_yaml(text)
        except CliError as e:
            raise CliError(f"--focus {e}") from None
    try:
        return check_focus(space, focus)
    except ValueError as e:  # "focus: ..."
        raise CliError(f"--{e}") from None


def with_context(space: Any, assignments: list[tuple[str, str]]) -> Any:
    """``space`` with the ``--context`` values (parsed as its context features hold them).

    Raises:
        CliError: a name that is not a context feature, or a feature left without a value.
    """
    from metarl.metadata._cells import parse_value

    values = {}
    for name, text in assignments:
        if name not in space.context:
            raise CliError(
                f"--context {name}: not a context feature of the space "
                f"(context: {list(space.context) or 'none'})"
            )
        values[name] = parse_value(space.context[name], text)
    if values:
        space = space.with_context(**values)
    unset = [n for n in space.context if n not in space.context_values]
    if unset:
        raise CliError(f"context feature(s) {unset} have no value: pass --context {unset[0]}=VALUE")
    return space
