"""Parameter kinds of a search space: the base class, Categorical and Boolean.

Every parameter stores its values in one or more float64 *columns* of the space's value
matrix (``NaN`` where the parameter is inactive):

- ``Categorical``: the index of the choice;
- ``Integer`` / ``Float`` / ``Fidelity``: the value itself (:mod:`metarl.space._numeric`);
- ``Boolean``: 0 or 1;
- ``Subset``: one 0/1 column per item (:mod:`metarl.space._subset`).

Each kind knows how to sample, encode and decode its columns in numpy, and which discrete
*grid* of values the sequential design environment offers for it.

A parameter may carry a *focus* (set by ``SearchSpace.restrict``): a narrower part of its
domain that sampling, the design grid and the cardinality keep to, while the columns, the
encoding and the validation of values stay those of the whole domain, so that a learner
fitted on the unrestricted space reads the restricted one unchanged.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from metarl.type_aliases import Value


class SpaceError(ValueError):
    """A malformed search space, or a config that does not belong to it."""


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _py(x: Any) -> Value:
    """numpy scalar -> plain Python scalar (so configs serialise to JSON/YAML/Optuna)."""
    return x.item() if isinstance(x, np.generic) else x


def _given_list(values: Any, what: str) -> list[Any]:
    """The ``choices``/``items`` a constructor is given (a list, tuple, range, array...) as a
    list. A string is refused rather than split into one value per character (YAML's
    ``choices: relu`` or ``choices: relu, tanh``), as are a mapping, a single value and a set
    (string hashing differs between processes, so a set's order, the one-hot columns and the
    space's fingerprint would too); the space's dict form adds the parameter's name."""
    if isinstance(values, (str, bytes)):
        raise SpaceError(f"{what} must be a list, got the string {values!r}")
    if isinstance(values, Mapping) or not isinstance(values, Iterable):
        raise SpaceError(f"{what} must be a list, got {values!r}")
    if isinstance(values, (set, frozenset)):  # its order (hence the encoding) varies by process
        raise SpaceError(f"{what} must be a list, got a set (it has no order): {values!r}")
    return list(values)


def _as_list(spec: Any, what: str) -> list[Any]:
    """A list/tuple/set given in a focus; a one-line error for anything else."""
    if isinstance(spec, (str, bytes)) or not isinstance(spec, (list, tuple, set, frozenset)):
        raise SpaceError(f"{what} must be a list, got {spec!r}")
    return list(spec)


class Param(ABC):
    """Base of every parameter kind.

    Args:
        active_if: ``{parent: [values, ...]}``; the parameter is active only when every named
            parent is active and takes one of the listed values.
    """

    type_name: str = ""

    def __init__(self, active_if: dict[str, Sequence[Value]] | None = None) -> None:
        self.name = ""  # set by SearchSpace
        self.active_if: dict[str, list[Value]] = {
            str(k): list(v) if isinstance(v, (list, tuple)) else [v]
            for k, v in (active_if or {}).items()
        }
        # the focus set by restrict(); None: the whole domain. Its form is the kind's own.
        self._focus: Any = None

    # ------------------------------------------------------------------ columns
    @property
    def n_columns(self) -> int:
        return 1

    @property
    def column_names(self) -> list[str]:
        return [self.name]

    @abstractmethod
    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, n_columns) float64 of uniformly drawn values (inside the focus)."""

    @abstractmethod
    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        """(n, n_columns) values (no NaN) -> (n, encoded_width) float32 features."""

    @abstractmethod
    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode_columns` (nearest valid value)."""

    @property
    @abstractmethod
    def encoded_width(self) -> int: ...

    @abstractmethod
    def to_value(self, cols: np.ndarray) -> Value | tuple[Any, ...]:
        """One row of columns -> the Python value a config holds."""

    @abstractmethod
    def from_value(self, value: Any) -> list[float]:
        """A config's Python value -> its columns; :class:`SpaceError` when out of the space."""

    # ------------------------------------------------------------------ discrete grid
    @abstractmethod
    def grid(self) -> np.ndarray:
        """Column values offered per design decision (all choices, or the bins), in focus."""

    def column_grids(self) -> list[np.ndarray]:
        """The design grid of each column (they differ only for a restricted Subset)."""
        return [self.grid()] * self.n_columns

    @property
    def cardinality(self) -> int:
        """Number of distinct values in the focus (a Float counts its bins)."""
        return len(self.grid()) ** self.n_columns

    # ------------------------------------------------------------------ focus
    @property
    def restricted(self) -> bool:
        """Whether a focus narrows this parameter (see ``SearchSpace.restrict``)."""
        return self._focus is not None

    def restrict(self, how: str, spec: Any) -> Param:
        """A copy whose sampling and design grid keep to ``spec``; encoding unchanged.

        Args:
            how: ``"fixed"`` (one value), ``"ranges"`` (``[low, high]``), ``"choices"``
                (allowed values) or ``"items"`` (a Subset's ``include``/``exclude``).
            spec: the value, range, choices or items; inside the current focus.

        Raises:
            SpaceError: a kind that ``how`` does not apply to, a value outside the domain or
                the current focus, or a focus that leaves no value.
        """
        hint = {"fixed": "", "items": " (a Subset's)", "choices": " (use ranges= or fixed=)"}
        raise self._err(
            f"{type(self).__name__} parameters cannot be restricted by {how}={hint.get(how, '')}"
        )

    def focus(self) -> tuple[str, Any] | None:
        """``(how, spec)`` that :meth:`restrict` turns the whole domain into this focus."""
        return None

    def in_focus(self, cols: np.ndarray) -> np.ndarray:
        """(n,) bool: which rows of (n, n_columns) values (no NaN) lie inside the focus."""
        return np.ones(len(cols), dtype=bool)

    def unrestricted(self) -> Param:
        """A copy of this parameter over its whole domain."""
        return self._with_focus(None)

    def _with_focus(self, focus: Any) -> Param:
        new = copy.copy(self)
        new._focus = focus
        return new

    # ------------------------------------------------------------------ conditions
    def condition_codes(self, values: Sequence[Value]) -> np.ndarray:
        """Column codes of ``values`` as a parent in an ``active_if`` condition."""
        return np.asarray([self.from_value(v)[0] for v in values], dtype=np.float64)

    # ------------------------------------------------------------------ dict form
    def to_dict(self) -> dict[str, Any]:
        """The dict form of the domain (a focus is stored by the space, not here)."""
        d: dict[str, Any] = {"type": self.type_name, **self._dict_body()}
        if self.active_if:
            d["active_if"] = {k: list(v) for k, v in self.active_if.items()}
        return d

    @abstractmethod
    def _dict_body(self) -> dict[str, Any]: ...

    def _err(self, msg: str) -> SpaceError:
        return SpaceError(f"parameter {self.name!r}: {msg}")

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._dict_body().items())
        cond = f", active_if={self.active_if!r}" if self.active_if else ""
        focus = self.focus()
        foc = f", focus={focus[0]}={focus[1]!r}" if focus else ""
        return f"{type(self).__name__}({body}{cond}{foc})"

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and self.to_dict() == other.to_dict()  # type: ignore[union-attr]
            and self.focus() == other.focus()  # type: ignore[union-attr]
        )

    def __hash__(self) -> int:
        return hash(repr(self))


class _Finite(Param):
    """A parameter of one column holding a finite set of codes; its focus is the sorted
    array of allowed codes."""

    def _codes(self) -> np.ndarray:
        """Every code of the whole domain."""
        raise NotImplementedError

    def grid(self) -> np.ndarray:
        return self._codes() if self._focus is None else self._focus

    def in_focus(self, cols: np.ndarray) -> np.ndarray:
        if self._focus is None:
            return np.ones(len(cols), dtype=bool)
        return np.isin(cols[:, 0], self._focus)

    def _restrict_to(self, codes: Sequence[float]) -> Param:
        codes_arr = np.unique(np.asarray(codes, dtype=np.float64))
        if len(codes_arr) == 0:
            raise self._err("the focus leaves no value")
        if self._focus is not None:
            outside = codes_arr[~np.isin(codes_arr, self._focus)]
            if len(outside):
                raise self._err(
                    f"value {self.to_value(outside[:1])!r} is outside the focus "
                    f"{[self.to_value(c[None]) for c in self._focus]}"
                )
        return self._with_focus(codes_arr)

    def _listed(self, spec: Any) -> list[Any]:
        return _as_list(spec, f"parameter {self.name!r}: choices")

    def _values_in_focus(self) -> list[Any]:
        return [_py(self.to_value(c[None])) for c in self.grid()]

    def focus(self) -> tuple[str, Any] | None:
        if self._focus is None:
            return None
        values = self._values_in_focus()
        return ("fixed", values[0]) if len(values) == 1 else ("choices", values)


class Categorical(_Finite):
    """One of a finite list of choices.

    Args:
        choices: the values (str, int, float, bool or None: ``class_weight in [None,
            "balanced"]``; a None choice is a value like the others, not an inactive
            parameter).
        ordered: encode as one scaled ordinal instead of one-hot. Defaults to True when every
            choice is a number (e.g. ``batch_size in [8, 16, 32, 64]``), else False.
        log: with ``ordered`` numeric choices, scale by log-value rather than by index rank.

    A focus (``restrict(choices=...)``, ``fixed=``, or ``ranges=`` for ordered numeric
    choices) keeps the indices into the whole ``choices`` list, so the encoding is unchanged.
    """

    type_name = "categorical"

    def __init__(
        self,
        choices: Sequence[Value],
        *,
        ordered: bool | None = None,
        log: bool = False,
        active_if: dict[str, Sequence[Value]] | None = None,
    ) -> None:
        super().__init__(active_if)
        self.choices: list[Value] = [_py(c) for c in _given_list(choices, "choices")]
        numeric = bool(self.choices) and all(_is_number(c) for c in self.choices)
        self.ordered = numeric if ordered is None else bool(ordered)
        self.log = bool(log)
        self._explicit_ordered = ordered

    def validate(self) -> None:
        if len(self.choices) == 0:
            raise self._err("choices must not be empty")
        for c in self.choices:
            if c is not None and not isinstance(c, (str, int, float, bool)):
                raise self._err(
                    f"choice {c!r} is a {type(c).__name__}; a choice is a string, a number, "
                    "a boolean or None"
                )
            if isinstance(c, float) and math.isnan(c):
                raise self._err("choice nan is not a value a config can match")
        keys = [
            (type(c).__name__ if isinstance(c, (str, bool)) else "num", c) for c in self.choices
        ]
        if len(set(keys)) != len(keys):
            raise self._err(f"choices contain duplicates: {self.choices}")
        if self.log and not (self.ordered and all(_is_number(c) and c > 0 for c in self.choices)):
            raise self._err("log=True needs ordered numeric choices > 0")

    def _positions(self) -> np.ndarray:
        k = len(self.choices)
        if k == 1:
            return np.zeros(1)
        if self.log:
            v = np.log(np.asarray(self.choices, dtype=np.float64))
            return (v - v.min()) / max(v.max() - v.min(), 1e-12)
        return np.arange(k) / (k - 1)

    @property
    def encoded_width(self) -> int:
        return 1 if self.ordered else len(self.choices)

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self._focus is not None:
            return self._focus[rng.integers(len(self._focus), size=n)][:, None]
        return rng.integers(len(self.choices), size=(n, 1)).astype(np.float64)

    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        idx = cols[:, 0].astype(np.int64)
        if self.ordered:
            return self._positions()[idx].astype(np.float32)[:, None]
        out = np.zeros((len(idx), len(self.choices)), dtype=np.float32)
        out[np.arange(len(idx)), idx] = 1.0
        return out

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        if self.ordered:
            pos = self._positions()
            return np.abs(enc[:, :1] - pos[None, :]).argmin(axis=1)[:, None].astype(np.float64)
        return enc.argmax(axis=1)[:, None].astype(np.float64)

    def to_value(self, cols: np.ndarray) -> Value:
        return self.choices[int(cols[0])]

    def index_of(self, value: Any) -> int:
        for i, c in enumerate(self.choices):
            if isinstance(c, bool) or isinstance(value, bool):
                if isinstance(c, bool) and isinstance(value, bool) and c == value:
                    return i
            elif _is_number(c) and _is_number(value):
                if math.isclose(float(c), float(value), rel_tol=1e-6, abs_tol=1e-12):
                    return i
            elif c == value:
                return i
        raise self._err(f"value {value!r} is not one of {self.choices}")

    def from_value(self, value: Any) -> list[float]:
        return [float(self.index_of(value))]

    def _codes(self) -> np.ndarray:
        return np.arange(len(self.choices), dtype=np.float64)

    def restrict(self, how: str, spec: Any) -> Param:
        if how == "fixed":
            return self._restrict_to([self.index_of(spec)])
        if how == "choices":
            return self._restrict_to([self.index_of(v) for v in self._listed(spec)])
        if how == "ranges" and self.ordered and all(_is_number(c) for c in self.choices):
            lo, hi = _range(self, spec)
            lowest, highest = min(self.choices), max(self.choices)  # type: ignore[type-var]
            if lo < lowest or hi > highest:
                raise self._err(f"range [{lo}, {hi}] is outside [{lowest}, {highest}]")
            return self._restrict_to([i for i, c in enumerate(self.choices) if lo <= c <= hi])
        if how == "ranges":
            raise self._err("ranges= applies to numeric choices only; use choices=")
        return super().restrict(how, spec)

    def _dict_body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"choices": list(self.choices)}
        if self._explicit_ordered is not None:
            d["ordered"] = self.ordered
        if self.log:
            d["log"] = True
        return d


def _range(p: Param, spec: Any) -> tuple[float, float]:
    """``[low, high]`` of a ``ranges=`` focus, checked to be two ordered numbers."""
    pair = _as_list(spec, f"parameter {p.name!r}: a range")
    if len(pair) != 2 or not all(_is_number(x) for x in pair):
        raise p._err(f"a range must be [low, high], got {spec!r}")
    lo, hi = _py(pair[0]), _py(pair[1])
    if lo > hi:  # type: ignore[operator]
        raise p._err(f"range [{lo}, {hi}] has low > high")
    return lo, hi  # type: ignore[return-value]


class Boolean(_Finite):
    """True or False."""

    type_name = "boolean"

    def validate(self) -> None:
        pass

    @property
    def encoded_width(self) -> int:
        return 1

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self._focus is not None:
            return self._focus[rng.integers(len(self._focus), size=n)][:, None]
        return rng.integers(2, size=(n, 1)).astype(np.float64)

    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        return cols.astype(np.float32)

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return (enc[:, :1] > 0.5).astype(np.float64)

    def to_value(self, cols: np.ndarray) -> bool:
        return bool(cols[0])

    def from_value(self, value: Any) -> list[float]:
        if isinstance(value, (bool, np.bool_)):
            return [float(value)]
        raise self._err(f"value {value!r} is not a bool")

    def _codes(self) -> np.ndarray:
        return np.asarray([0.0, 1.0])

    def restrict(self, how: str, spec: Any) -> Param:
        if how == "fixed":
            return self._restrict_to(self.from_value(spec))
        if how == "choices":
            return self._restrict_to([self.from_value(v)[0] for v in self._listed(spec)])
        return super().restrict(how, spec)

    def _dict_body(self) -> dict[str, Any]:
        return {}
