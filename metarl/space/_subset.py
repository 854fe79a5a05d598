"""The ``Subset`` parameter kind: a set of items chosen one on/off decision per item."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metarl.space._params import Param, _as_list, _given_list
from metarl.type_aliases import Value

#: Keys of a Subset's ``items=`` focus.
ITEM_KEYS = ("include", "exclude", "allowed")


def _log_comb(k: int, j: int) -> float:
    return math.lgamma(k + 1) - math.lgamma(j + 1) - math.lgamma(k - j + 1)


def _share_at_least(k: int, need: int) -> float:
    """The share of the 2**k subsets of k items that hold at least ``need`` items."""
    return float(sum(math.exp(_log_comb(k, j) - k * math.log(2)) for j in range(need, k + 1)))


class Subset(Param):
    """A subset of ``items``: one on/off decision per item (e.g. feature selection).

    Args:
        items: the names of the items (e.g. dataset columns).
        min_size: the smallest allowed subset (default 1: a model needs a feature). The
            design environment masks "off" when the remaining items are needed to reach it.

    A config holds the selected items as a tuple, in ``items`` order.

    A focus (``restrict(items={name: {"include": [...], "exclude": [...]}})``, or
    ``fixed={name: [...]}`` for one exact subset) always selects the included items and
    never the excluded ones; ``"allowed": [...]`` excludes every item not listed. The other
    items stay free, and each column's design grid says which (:meth:`column_grids`).
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
        self.items = [str(i) for i in _given_list(items, "items")]
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

    # ------------------------------------------------------------------ focus helpers
    def _fixed_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(included, excluded) bool masks over the items (all False without a focus)."""
        if self._focus is None:
            none = np.zeros(len(self.items), dtype=bool)
            return none, none
        return self._focus

    def _need(self) -> tuple[np.ndarray, int]:
        """The free items' mask, and how many of them a subset must select at least."""
        inc, exc = self._fixed_masks()
        return ~(inc | exc), max(0, self.min_size - int(inc.sum()))

    # ------------------------------------------------------------------ sampling
    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        inc, exc = self._fixed_masks()
        free, need = self._need()
        k = int(free.sum())
        if need > k // 3 and _share_at_least(k, need) < 0.5:
            return self._sample_by_size(rng, n, free, need)
        cols = (rng.random((n, len(self.items))) < 0.5).astype(np.float64)
        cols[:, inc], cols[:, exc] = 1.0, 0.0
        short = cols.sum(axis=1) < self.min_size
        while short.any():  # redraw the rows below min_size (at most half of them)
            cols[short] = rng.random((int(short.sum()), len(self.items))) < 0.5
            cols[np.ix_(short, inc)], cols[np.ix_(short, exc)] = 1.0, 0.0
            short = cols.sum(axis=1) < self.min_size
        return cols

    def _sample_by_size(
        self,
        rng: np.random.Generator,
        n: int,
        free: np.ndarray,
        need: int,
    ) -> np.ndarray:
        """Uniform subsets when most random draws would be too small: draw the number of
        free items selected by how many subsets have it, then which items."""
        k = int(free.sum())
        logw = np.asarray([_log_comb(k, j) for j in range(need, k + 1)])
        w = np.exp(logw - logw.max())
        size = need + rng.choice(len(w), size=n, p=w / w.sum())
        ranks = rng.random((n, int(free.sum()))).argsort(axis=1).argsort(axis=1)
        cols = np.zeros((n, len(self.items)))
        cols[:, self._fixed_masks()[0]] = 1.0
        cols[:, free] = ranks < size[:, None]
        return cols

    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        return cols.astype(np.float32)

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return (enc > 0.5).astype(np.float64)

    def to_value(self, cols: np.ndarray) -> tuple[str, ...]:
        return tuple(it for it, c in zip(self.items, cols) if c > 0.5)

    def _mask(self, names: Any, what: str) -> np.ndarray:
        mask = np.zeros(len(self.items), dtype=bool)
        for it in _as_list(names, f"parameter {self.name!r}: {what}"):
            if it not in self._pos:
                raise self._err(f"item {it!r} is not one of {self.items}")
            mask[self._pos[it]] = True
        return mask

    def from_value(self, value: Any) -> list[float]:
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
            raise self._err(f"value {value!r} is not a list of items")
        cols = self._mask(value, "a subset").astype(np.float64).tolist()
        if sum(cols) < self.min_size:
            raise self._err(f"subset {list(value)} has fewer than min_size={self.min_size} items")
        return cols

    # ------------------------------------------------------------------ design grid
    def grid(self) -> np.ndarray:
        return np.asarray([0.0, 1.0])

    def column_grids(self) -> list[np.ndarray]:
        inc, exc = self._fixed_masks()
        on, off, both = np.asarray([1.0]), np.asarray([0.0]), self.grid()
        return [on if i else off if e else both for i, e in zip(inc, exc)]

    @property
    def cardinality(self) -> int:
        free, need = self._need()
        k = int(free.sum())
        return sum(math.comb(k, j) for j in range(need, k + 1))

    def condition_codes(self, values: Sequence[Value]) -> np.ndarray:
        raise self._err("a Subset cannot be the parent of a condition")

    # ------------------------------------------------------------------ focus
    def restrict(self, how: str, spec: Any) -> Param:
        if how == "fixed":
            inc = np.asarray(self.from_value(spec)) > 0.5
            exc = ~inc
        elif how == "items":
            if not isinstance(spec, Mapping) or not spec or set(spec) - set(ITEM_KEYS):
                raise self._err(
                    f"items= takes a mapping with keys among {list(ITEM_KEYS)}, got {spec!r}"
                )
            inc = self._mask(spec.get("include", []), "include")
            exc = self._mask(spec.get("exclude", []), "exclude")
            if "allowed" in spec:
                exc |= ~self._mask(spec["allowed"], "allowed")
            both = inc & exc
            if both.any():
                raise self._err(
                    f"item(s) {np.asarray(self.items)[both].tolist()} both included and excluded"
                )
        else:
            return super().restrict(how, spec)
        cur_inc, cur_exc = self._fixed_masks()
        clash = (inc & cur_exc) | (exc & cur_inc)
        if clash.any():
            raise self._err(f"item {self.items[int(np.argmax(clash))]!r} is outside the focus")
        inc, exc = inc | cur_inc, exc | cur_exc
        if not (inc | exc).any():  # include=[] and exclude=[]: nothing is restricted
            return self
        new = self._with_focus((inc, exc))
        free, need = new._need()  # type: ignore[attr-defined]
        if need > free.sum():
            raise self._err(
                f"the focus leaves at most {self.min_size - need + int(free.sum())} items, "
                f"fewer than min_size={self.min_size}"
            )
        return new

    def focus(self) -> tuple[str, Any] | None:
        if self._focus is None:
            return None
        inc, exc = self._focus
        if (inc | exc).all():
            return ("fixed", [it for it, i in zip(self.items, inc) if i])
        items = {
            "include": [it for it, i in zip(self.items, inc) if i],
            "exclude": [it for it, e in zip(self.items, exc) if e],
        }
        return ("items", {k: v for k, v in items.items() if v})

    def in_focus(self, cols: np.ndarray) -> np.ndarray:
        if self._focus is None:
            return np.ones(len(cols), dtype=bool)
        inc, exc = self._focus
        return (cols[:, inc] > 0.5).all(axis=1) & (cols[:, exc] < 0.5).all(axis=1)

    def _dict_body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"items": list(self.items)}
        if self.min_size != 1:
            d["min_size"] = self.min_size
        return d
