"""Parameter kinds of a search space.

Every parameter stores its values in one or more float64 *columns* of the space's value
matrix (``NaN`` where the parameter is inactive):

- ``Categorical``: the index of the choice;
- ``Integer`` / ``Float``: the value itself;
- ``Boolean``: 0 or 1;
- ``Subset``: one 0/1 column per item.

Each kind knows how to sample, encode and decode its columns in numpy, and which discrete
*grid* of values the sequential design environment offers for it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
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

    # ------------------------------------------------------------------ columns
    @property
    def n_columns(self) -> int:
        return 1

    @property
    def column_names(self) -> list[str]:
        return [self.name]

    @abstractmethod
    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, n_columns) float64 of uniformly drawn values."""

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
        """Column values offered per design decision (all choices, or the bins)."""

    @property
    def cardinality(self) -> int:
        """Number of distinct values (a Float counts its bins)."""
        return len(self.grid()) ** self.n_columns

    # ------------------------------------------------------------------ conditions
    def condition_codes(self, values: Sequence[Value]) -> np.ndarray:
        """Column codes of ``values`` as a parent in an ``active_if`` condition."""
        return np.asarray([self.from_value(v)[0] for v in values], dtype=np.float64)

    # ------------------------------------------------------------------ dict form
    def to_dict(self) -> dict[str, Any]:
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
        return f"{type(self).__name__}({body}{cond})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(repr(self))


class Categorical(Param):
    """One of a finite list of choices.

    Args:
        choices: the values (str, int, float or bool).
        ordered: encode as one scaled ordinal instead of one-hot. Defaults to True when every
            choice is a number (e.g. ``batch_size in [8, 16, 32, 64]``), else False.
        log: with ``ordered`` numeric choices, scale by log-value rather than by index rank.
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
        self.choices: list[Value] = [_py(c) for c in choices]
        numeric = bool(self.choices) and all(_is_number(c) for c in self.choices)
        self.ordered = numeric if ordered is None else bool(ordered)
        self.log = bool(log)
        self._explicit_ordered = ordered

    def validate(self) -> None:
        if len(self.choices) == 0:
            raise self._err("choices must not be empty")
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

    def grid(self) -> np.ndarray:
        return np.arange(len(self.choices), dtype=np.float64)

    def _dict_body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"choices": list(self.choices)}
        if self._explicit_ordered is not None:
            d["ordered"] = self.ordered
        if self.log:
            d["log"] = True
        return d


class _Numeric(Param):
    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        bins: int | None = None,
        active_if: dict[str, Sequence[Value]] | None = None,
    ) -> None:
        super().__init__(active_if)
        self.low = low
        self.high = high
        self.log = bool(log)
        self.bins = bins

    def validate(self) -> None:
        if not (_is_number(self.low) and _is_number(self.high)):
            raise self._err(f"low and high must be numbers, got {self.low!r}, {self.high!r}")
        if self.low > self.high:
            raise self._err(f"low ({self.low}) > high ({self.high})")
        if self.log and self.low <= 0:
            raise self._err(f"log=True needs low > 0, got low={self.low}")
        if self.bins is not None and (not isinstance(self.bins, int) or self.bins < 1):
            raise self._err(f"bins must be a positive int, got {self.bins!r}")

    @property
    def encoded_width(self) -> int:
        return 1

    def _scale(self, v: np.ndarray) -> np.ndarray:
        lo, hi = float(self.low), float(self.high)
        if hi == lo:
            return np.zeros_like(v)
        if self.log:
            return (np.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (v - lo) / (hi - lo)

    def _unscale(self, u: np.ndarray) -> np.ndarray:
        lo, hi = float(self.low), float(self.high)
        u = np.clip(u, 0.0, 1.0)
        if self.log:
            return np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        return lo + u * (hi - lo)

    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        return self._scale(cols).astype(np.float32)

    def _dict_body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"low": _py(self.low), "high": _py(self.high)}
        if self.log:
            d["log"] = True
        if self.bins is not None:
            d["bins"] = self.bins
        return d


class Integer(_Numeric):
    """An integer in ``[low, high]``; ``log`` samples and scales on a log scale.

    The design environment offers every value when there are at most ``bins`` (default 32)
    of them, else ``bins`` values spread evenly (on the log scale when ``log``).
    """

    type_name = "integer"
    default_bins = 32

    def validate(self) -> None:
        if not all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool)
            for x in (self.low, self.high)
        ):
            raise self._err(f"low and high must be ints, got {self.low!r}, {self.high!r}")
        super().validate()

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.log:  # log-uniform over [low - 0.5, high + 0.5], then rounded
            u = rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5), size=n)
            v = np.clip(np.round(np.exp(u)), self.low, self.high)
        else:
            v = rng.integers(self.low, self.high + 1, size=n).astype(np.float64)
        return v[:, None]

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return np.clip(np.round(self._unscale(enc[:, :1].astype(np.float64))), self.low, self.high)

    def to_value(self, cols: np.ndarray) -> int:
        return int(cols[0])

    def from_value(self, value: Any) -> list[float]:
        if not _is_number(value) or float(value) != int(value):
            raise self._err(f"value {value!r} is not an integer")
        if not self.low <= value <= self.high:
            raise self._err(f"value {value!r} is outside [{self.low}, {self.high}]")
        return [float(value)]

    def grid(self) -> np.ndarray:
        span = self.high - self.low + 1
        bins = self.bins or self.default_bins
        if span <= bins:
            return np.arange(self.low, self.high + 1, dtype=np.float64)
        g = self._unscale(np.linspace(0.0, 1.0, bins))
        return np.unique(np.clip(np.round(g), self.low, self.high))


class Float(_Numeric):
    """A real number in ``[low, high]``; ``bins`` values (default 16) are offered by the
    design environment, evenly spaced (on the log scale when ``log``)."""

    type_name = "float"
    default_bins = 16

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self._unscale(rng.uniform(0.0, 1.0, size=n))[:, None]

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return self._unscale(enc[:, :1].astype(np.float64))

    def to_value(self, cols: np.ndarray) -> float:
        return float(cols[0])

    def from_value(self, value: Any) -> list[float]:
        if not _is_number(value) or not math.isfinite(float(value)):
            raise self._err(f"value {value!r} is not a finite number")
        tol = 1e-9 * max(1.0, abs(self.high), abs(self.low))
        if not self.low - tol <= value <= self.high + tol:
            raise self._err(f"value {value!r} is outside [{self.low}, {self.high}]")
        return [float(value)]

    def grid(self) -> np.ndarray:
        bins = self.bins or self.default_bins
        if bins == 1 or self.low == self.high:
            return np.asarray([float(self.low)])
        return self._unscale(np.linspace(0.0, 1.0, bins))


class Boolean(Param):
    """True or False."""

    type_name = "boolean"

    def validate(self) -> None:
        pass

    @property
    def encoded_width(self) -> int:
        return 1

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
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

    def grid(self) -> np.ndarray:
        return np.asarray([0.0, 1.0])

    def _dict_body(self) -> dict[str, Any]:
        return {}


class Subset(Param):
    """A subset of ``items``: one on/off decision per item (e.g. feature selection).

    Args:
        items: the names of the items (e.g. dataset columns).
        min_size: the smallest allowed subset (default 1: a model needs a feature). The
            design environment masks "off" when the remaining items are needed to reach it.

    A config holds the selected items as a tuple, in ``items`` order.
    """

    type_name = "subset"

    def __init__(
        self,
        items: Sequence[str],
        *,
        min_size: int = 1,
        active_if: dict[str, Sequence[Value]] | None = None,
    ) -> None:
        super().__init__(active_if)
        self.items = [str(i) for i in items]
        self.min_size = int(min_size)
        self._pos = {it: i for i, it in enumerate(self.items)}

    def validate(self) -> None:
        if not self.items:
            raise self._err("items must not be empty")
        if len(self._pos) != len(self.items):
            raise self._err(f"items contain duplicates: {self.items}")
        if not 0 <= self.min_size <= len(self.items):
            raise self._err(f"min_size={self.min_size} not in [0, {len(self.items)}]")

    @property
    def n_columns(self) -> int:
        return len(self.items)

    @property
    def column_names(self) -> list[str]:
        return [f"{self.name}[{it}]" for it in self.items]

    @property
    def encoded_width(self) -> int:
        return len(self.items)

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        cols = (rng.random((n, len(self.items))) < 0.5).astype(np.float64)
        short = cols.sum(axis=1) < self.min_size
        while short.any():  # rare: redraw the rows below min_size
            cols[short] = rng.random((int(short.sum()), len(self.items))) < 0.5
            short = cols.sum(axis=1) < self.min_size
        return cols

    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        return cols.astype(np.float32)

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return (enc > 0.5).astype(np.float64)

    def to_value(self, cols: np.ndarray) -> tuple[str, ...]:
        return tuple(it for it, c in zip(self.items, cols) if c > 0.5)

    def from_value(self, value: Any) -> list[float]:
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise self._err(f"value {value!r} is not a list of items")
        cols = [0.0] * len(self.items)
        for it in value:
            if it not in self._pos:
                raise self._err(f"item {it!r} is not one of {self.items}")
            cols[self._pos[it]] = 1.0
        if sum(cols) < self.min_size:
            raise self._err(f"subset {list(value)} has fewer than min_size={self.min_size} items")
        return cols

    def grid(self) -> np.ndarray:
        return np.asarray([0.0, 1.0])

    @property
    def cardinality(self) -> int:
        return sum(math.comb(len(self.items), k) for k in range(self.min_size, len(self.items) + 1))

    def condition_codes(self, values: Sequence[Value]) -> np.ndarray:
        raise self._err("a Subset cannot be the parent of a condition")

    def _dict_body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"items": list(self.items)}
        if self.min_size != 1:
            d["min_size"] = self.min_size
        return d


KINDS: dict[str, type[Param]] = {
    "categorical": Categorical,
    "integer": Integer,
    "float": Float,
    "boolean": Boolean,
    "subset": Subset,
}
