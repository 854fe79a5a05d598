"""The design grid of a search space: its decisions, cardinality, enumeration and snapping
(a mixin of ``SearchSpace``). In a restricted space all of them keep to the focus."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from metarl.space._numeric import Fidelity, Float, Integer
from metarl.space._params import Param, SpaceError
from metarl.space._subset import Subset
from metarl.type_aliases import ConfigMatrix


@dataclass(frozen=True)
class Decision:
    """One decision of the sequential design: one column of one parameter.

    Attributes:
        param: the parameter's name.
        index: position of the parameter in ``SearchSpace.names``.
        column: column of the value matrix this decision fills.
        options: the column values offered (choice indices, bins, or 0/1), in the focus.
    """

    param: str
    index: int
    column: int
    options: np.ndarray


class GridMixin:
    """Decisions, cardinality, enumeration and snapping on the design grid."""

    params: dict[str, Param]
    context: dict[str, Param]
    context_values: dict[str, object]
    names: list[str]
    column_slices: dict[str, slice]
    n_columns: int
    _conditions: dict[str, list[tuple[str, int, np.ndarray]]]

    if TYPE_CHECKING:  # provided by MatrixMixin

        def active_matrix(self, M: ConfigMatrix) -> np.ndarray: ...

        def _apply_activity(self, M: ConfigMatrix) -> ConfigMatrix: ...

        def _params_in_input_order(self) -> dict[str, Param]: ...

    def finer(self, times: int = 1) -> GridMixin | None:
        """This space with a finer design grid: every Float, and every Integer with more
        values than its bins, gets ``(bins - 1) * 2**times + 1`` bins (the old grid's values
        and ``2**times - 1`` more between each two, on its scale; an Integer at most every
        value). Columns, encoding, conditions and focus are unchanged, so a config of the
        finer space is a config of this one. None when no parameter's grid grows (the
        space's design grid is all of it: categoricals, small Integers, fidelities).

        Where every config of the design grid has been tried, a policy proposes from the
        finer grid (:class:`~metarl.agents.ScoredPolicy`): a continuous parameter is never
        exhausted.
        """
        params: dict[str, Param] = {}
        grew = False
        for name, p in self._params_in_input_order().items():
            if isinstance(p, (Float, Integer)) and not isinstance(p, Fidelity):
                q = copy.copy(p)
                q.bins = ((p.bins or p.default_bins) - 1) * 2**times + 1
                if isinstance(q, Integer):
                    q.bins = min(q.bins, int(p.high) - int(p.low) + 1)
                grew = grew or len(q.grid()) > len(p.grid())
                p = q
            params[name] = p
        if not grew:
            return None
        return type(self)(params, self.context, self.context_values)  # type: ignore[call-arg]

    @property
    def decisions(self) -> list[Decision]:
        """The sequential decisions of the design: one per column, parents first."""
        out = []
        for i, (name, p) in enumerate(self.params.items()):
            start = self.column_slices[name].start
            for j, grid in enumerate(p.column_grids()):
                out.append(Decision(name, i, start + j, grid))
        return out

    def snap_to_grid(self, M: ConfigMatrix) -> ConfigMatrix:
        """Round every value to the nearest value of its column's design grid.

        In a restricted space this also moves rows into the focus: a parameter that the
        snapped parents activate takes its first grid value, one they deactivate becomes
        NaN, and a Subset left below ``min_size`` selects its first free items.
        """
        M = np.array(M, dtype=np.float64)
        for name, p in self.params.items():
            sl = self.column_slices[name]
            if not p.restricted:  # one grid for every column: snap the block at once
                g = p.grid()
                block = M[:, sl]
                idx = np.abs(np.nan_to_num(block)[..., None] - g).argmin(axis=-1)
                M[:, sl] = np.where(np.isnan(block), np.nan, g[idx])
                continue
            for c, g in zip(range(sl.start, sl.stop), p.column_grids()):
                col = M[:, c]
                idx = np.abs(np.nan_to_num(col)[:, None] - g).argmin(axis=1)
                M[:, c] = np.where(np.isnan(col), np.nan, g[idx])
        if any(p.restricted for p in self.params.values()):
            self._into_focus(M)
        return M

    def _into_focus(self, M: ConfigMatrix) -> None:
        """Fix (in place) the activity and Subset sizes of snapped rows, parents first."""
        for name in self.names:
            p, sl = self.params[name], self.column_slices[name]
            act = np.ones(len(M), dtype=bool)
            for _, col, codes in self._conditions[name]:
                act &= np.isin(M[:, col], codes)  # an inactive (NaN) parent fails
            block = M[:, sl]
            block[~act] = np.nan
            grids = p.column_grids()
            fill = act & np.isnan(block[:, 0])
            block[fill] = [g[0] for g in grids]
            if isinstance(p, Subset):
                short = act & (np.nan_to_num(block).sum(axis=1) < p.min_size)
                b = block[short]
                off = (b == 0) & np.asarray([len(g) == 2 for g in grids])
                need = p.min_size - b.sum(axis=1)
                b[off & (np.cumsum(off, axis=1) <= need[:, None])] = 1.0
                block[short] = b
            M[:, sl] = block

    def _parent_combos(self) -> tuple[list[str], np.ndarray]:
        """Distinct value combinations of the parameters that condition others."""
        parents = [n for n in self.names if any(n in self.params[c].active_if for c in self.names)]
        if not parents:
            return [], np.zeros((1, self.n_columns))
        grids = [self.params[n].grid() for n in parents]
        combos = np.asarray(list(itertools.product(*grids)), dtype=np.float64)
        M = np.zeros((len(combos), self.n_columns))
        for j, n in enumerate(parents):
            M[:, self.column_slices[n].start] = combos[:, j]
        M = self._apply_activity(M)
        cols = [self.column_slices[n].start for n in parents]
        _, first = np.unique(np.nan_to_num(M[:, cols], nan=-1.0), axis=0, return_index=True)
        return parents, M[np.sort(first)]

    @property
    def cardinality(self) -> int:
        """Exact number of distinct configs on the design grid (a Python int)."""
        parents, combos = self._parent_combos()
        total = 0
        act = self.active_matrix(combos)
        for r in range(len(combos)):
            count = 1
            for i, n in enumerate(self.names):
                if n not in parents and act[r, i]:
                    count *= self.params[n].cardinality
            total += count
        return total

    @property
    def log2_cardinality(self) -> float:
        return math.log2(self.cardinality)

    def enumerate(
        self, chunk_size: int = 65536, max_configs: int = 10**8
    ) -> Iterator[ConfigMatrix]:
        """Every config of the design grid, as value matrices of at most ``chunk_size`` rows.

        Raises:
            SpaceError: when the space holds more than ``max_configs`` configs.
        """
        if self.cardinality > max_configs:
            raise SpaceError(
                f"the space holds {self.cardinality} configs, more than max_configs={max_configs}; "
                "use sampling or a policy instead of enumeration"
            )
        parents, combos = self._parent_combos()
        act = self.active_matrix(combos)
        for r in range(len(combos)):
            leaves = [n for i, n in enumerate(self.names) if n not in parents and act[r, i]]
            cols = [
                c
                for n in leaves
                for c in range(self.column_slices[n].start, self.column_slices[n].stop)
            ]
            grids = [g for n in leaves for g in self.params[n].column_grids()]
            radix = np.asarray([len(g) for g in grids], dtype=np.int64)
            total = int(np.prod(radix)) if len(radix) else 1
            for start in range(0, total, chunk_size):
                idx = np.arange(start, min(start + chunk_size, total), dtype=np.int64)
                M = np.repeat(combos[r : r + 1], len(idx), axis=0)
                for j in range(len(cols) - 1, -1, -1):  # mixed radix, last column fastest
                    M[:, cols[j]] = grids[j][idx % radix[j]]
                    idx //= radix[j]
                M = self._drop_small_subsets(M, leaves)
                if len(M):
                    yield M

    def _drop_small_subsets(self, M: ConfigMatrix, names: list[str]) -> ConfigMatrix:
        keep = np.ones(len(M), dtype=bool)
        for n in names:
            p = self.params[n]
            if isinstance(p, Subset) and p.min_size > 0:
                keep &= M[:, self.column_slices[n]].sum(axis=1) >= p.min_size
        return M[keep]
