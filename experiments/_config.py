"""Argparse over a dataclass, with defaults from a YAML file: ``--config X.yaml --key value``.

Precedence: command line > YAML file > the dataclass's defaults. Unknown YAML keys are an
error naming the key, so a typo never silently falls back to a default. An option's help is
the docstring under its field, followed by its default.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import textwrap
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

import yaml

T = TypeVar("T")


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass, by field name."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body  # type: ignore[attr-defined]
    docs = {}
    for field, doc in zip(body, body[1:]):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(doc, ast.Expr)
            and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)
        ):
            docs[field.target.id] = " ".join(doc.value.value.split())
    return docs


def parse_config(cls: type[T], description: str, argv: list[str] | None = None) -> T:
    """Build ``cls`` from ``--config`` (YAML) and one ``--flag`` per dataclass field.

    ``description``'s first paragraph is the help's description (a script passes its
    ``__doc__``).
    """
    hints = get_type_hints(cls)
    docs = field_docs(cls)
    parser = argparse.ArgumentParser(description=" ".join(description.split("\n\n")[0].split()))
    parser.add_argument("--config", help="YAML file with defaults for the options below")
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        conv = _bool if kind is bool else (kind if kind in (int, float) else str)
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=conv,
            help=f"{docs.get(f.name, '')} (default: {f.default!r})".strip(),
        )
    args = parser.parse_args(argv)
    values: dict[str, Any] = {}
    if args.config:
        try:
            loaded = yaml.safe_load(Path(args.config).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            parser.error(f"--config {args.config}: {str(e).splitlines()[0]}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(loaded) - names)
        if unknown:
            parser.error(
                f"--config {args.config}: unknown key(s) {unknown}; known: {sorted(names)}"
            )
        values.update(loaded)
    values.update({k: v for k, v in vars(args).items() if k != "config" and v is not None})
    return cls(**values)
