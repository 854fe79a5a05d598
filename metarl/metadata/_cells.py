"""Reading one cell of a table of past runs as the value a config holds."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from metarl.space import Boolean, Categorical, Fidelity, Float, Integer, Param, Subset

#: A cell with no value (the parameter was inactive in that run).
MISSING = object()
_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


def is_missing(v: Any) -> bool:
    if v is None or v is MISSING:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    import pandas as pd

    return v is pd.NA or v is pd.NaT


def to_float(v: Any) -> float | None:
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def to_bool(v: Any) -> bool | None:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    return None


def parse_value(p: Param, v: Any) -> Any:
    """A cell -> the Python value a config holds for ``p``.

    A cell that cannot be read is returned as is: validation then names the problem. A
    Subset cell is a ``|``-separated string (``a|b``), a list literal or an iterable.

    Raises:
        ValueError: a Subset cell separated by ``,`` or ``;`` (``a;b``), which would read as
            one unknown item: the message names the formats accepted.
    """
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(p, Subset):
        if isinstance(v, str):
            s = v.strip()
            if s[:1] in ("(", "[", "{"):
                try:
                    items = ast.literal_eval(s)
                except (ValueError, SyntaxError):
                    return v
                return tuple(str(x) for x in items) if isinstance(items, (list, tuple, set)) else v
            if "|" not in s and s not in p.items and any(sep in s for sep in ",;"):
                raise ValueError(
                    f"parameter {p.name!r}: cannot read the subset {s!r}: separate items with "
                    f"'|' (a|b), write a list (['a', 'b']), or use 0/1 columns named "
                    f"'{p.name}[item]'"
                )
            return tuple(x.strip() for x in s.split("|") if x.strip())
        if isinstance(v, (list, tuple, set, frozenset, np.ndarray)):
            return tuple(v)
        return v
    if isinstance(p, Boolean):
        b = to_bool(v)
        return v if b is None else b
    if isinstance(p, Integer):
        f = to_float(v)
        return v if f is None else (int(f) if f.is_integer() else f)
    if isinstance(p, Float):
        f = to_float(v)
        return v if f is None else f
    if isinstance(p, Fidelity):  # epochs (ints) or a fraction of the training samples
        f = to_float(v)
        return v if f is None else (int(f) if p.integer and f.is_integer() else f)
    if isinstance(p, Categorical):
        return _choice(p, v)
    return v


def parse_column(p: Param, cells: list[Any], where: list[str]) -> list[Any]:
    """:func:`parse_value` of each cell of a column, :data:`MISSING` for an empty one.

    Raises:
        ValueError: a cell :func:`parse_value` refuses; the message starts with its row's
            ``where`` (``"line 4"``).
    """
    out = []
    for cell, at in zip(cells, where):
        try:
            out.append(MISSING if is_missing(cell) else parse_value(p, cell))
        except ValueError as e:
            raise ValueError(f"{at}: {e}") from None
    return out


def _choice(p: Categorical, v: Any) -> Any:
    if isinstance(v, (bool, int, float)) and not isinstance(v, bool):
        for c in p.choices:  # a number read for a string choice such as "1"
            if isinstance(c, str) and c == str(v):
                return c
        return v
    if not isinstance(v, str):
        return v
    s = v.strip()
    for c in p.choices:
        if isinstance(c, str) and c == s:
            return c
    for c in p.choices:  # "True", "16", "0.001" for non-string choices
        if not isinstance(c, str) and str(c).lower() == s.lower():
            return c
    if any(isinstance(c, bool) for c in p.choices) and to_bool(s) is not None:
        return to_bool(s)
    f = to_float(s)
    return s if f is None else f
