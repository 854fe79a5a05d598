"""The layout of a space's draws on a torch device: which random numbers each parameter
takes, and the table rows its codes select (see :class:`~metarl.space._torch.TorchSampler`).

Every part of a config that takes one of finitely many values (a Categorical's choice, a
grid option, eight items of a Subset, an active bit) is a *group*: a table of rows, each
the full-width encoding of that part alone (zeros elsewhere), one of which the part's code
selects. Continuous parts (a Float off the grid, a wide Integer) are *dense* columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from metarl.space import Float, Integer, Param, SearchSpace, Subset

#: A non-log Integer with more values than this is drawn as a number, not a table option.
TABLE_LIMIT = 4096


@dataclass
class Group:
    """A table of rows one code selects: ``rows[c]`` is a full-width encoding vector."""

    rows: np.ndarray  # (k, encoded_width) float64
    cols: slice  # the feature columns its rows touch
    offset: int = 0  # first row in the sampler's concatenated table


@dataclass
class Plan:
    """How one parameter is drawn: its groups, dense column and conditions.

    ``kind``: ``"table"`` (an option index: Categorical, Boolean, a small Integer, any
    parameter on the grid), ``"float"`` (a continuous Float: its encoding is a uniform
    draw), ``"int"`` (a wide Integer, uniform), ``"logint"`` (a log Integer: log-uniform
    over ``[low - 0.5, high + 0.5]``, rounded, as ``Integer.sample_columns`` draws it) or
    ``"subset"`` (one fair bit per item, 8 items per code, rows below ``min_size`` redrawn).
    """

    param: Param
    kind: str
    group: int = -1  # its table group, or the first of its byte groups (subset)
    active_group: int = -1  # group of its active bit (subset and dense kinds)
    dense: int = -1  # its dense column (dense kinds)
    values: np.ndarray | None = None  # value of each table option (condition keys)
    n_options: int = 0  # len(values), an int: the traced code reads no numpy
    uniform: int = -1  # its row of the float32 uniforms (table, float)
    wide: int = -1  # its row of the float64 uniforms (int, logint)
    words: slice = field(default_factory=lambda: slice(0))  # its random words (subset)
    bytes: slice = field(default_factory=lambda: slice(0))  # their bytes that hold items
    is_parent: bool = False
    # [(parent position, allowed)]: the one allowed option index (an int), a bool table over
    # the parent's options, or the allowed values (float64) of a parent drawn as a number
    conditions: list[tuple[int, int | torch.Tensor]] = field(default_factory=list)


class Layout:
    """Groups, dense columns and random-number rows of a space's draws.

    Args:
        space: the search space (with its context values set, if it has context).
        grid: every parameter on its design grid (else as ``sample_matrix`` draws them).
        device: where the conditions' lookup tables live.

    Attributes:
        groups: the tables of rows, in code order; ``rows`` concatenates them.
        plans: one :class:`Plan` per parameter, in the space's order.
        dense_columns: the feature column of each dense column.
        n_uniforms: rows of float32 uniforms a draw takes; ``n_wide``: of float64 ones.
        word_masks: per 64-bit random word, the bits that are Subset items.
        rows: ``(n_rows, encoded_width)`` float64, every group's rows.
        context_row: ``(encoded_width,)`` float64, the context features (zeros elsewhere).
    """

    def __init__(self, space: SearchSpace, grid: bool, device: torch.device) -> None:
        self.space = space
        self.grid = grid
        self.device = device
        self.groups: list[Group] = []
        self.dense_columns: list[int] = []
        self.n_uniforms = self.n_wide = 0
        self.word_masks: list[int] = []
        self.plans = [self._plan(p) for p in space.params.values()]
        self._link_conditions()
        n_rows = 0
        for g in self.groups:
            g.offset, n_rows = n_rows, n_rows + len(g.rows)
        self.rows = np.concatenate([g.rows for g in self.groups])
        self.context_row = np.zeros(space.encoded_width)
        self.context_start = space.encoded_width
        if space.context:
            start = min(space.feature_slices[n].start for n in space.context)
            self.context_row[start:] = space.encode_matrix(space.sample_matrix(1, 0))[0, start:]
            self.context_start = start

    def _add_group(self, rows: np.ndarray, cols: slice) -> int:
        self.groups.append(Group(rows, cols))
        return len(self.groups) - 1

    def _unit_rows(self, k: int, cols: slice, values: np.ndarray) -> np.ndarray:
        rows = np.zeros((k, self.space.encoded_width))
        rows[:, cols] = values
        return rows

    def _plan(self, p: Param) -> Plan:
        fs = self.space.feature_slices[p.name]
        start = fs.start + (1 if p.active_if else 0)
        kind = "table"
        if isinstance(p, Subset):
            kind = "subset"
        elif isinstance(p, Float) and not self.grid and p.low != p.high:
            kind = "float"
        elif isinstance(p, Integer) and not self.grid and p.low != p.high:
            if p.log:
                kind = "logint"
            elif p.high - p.low + 1 > TABLE_LIMIT:
                kind = "int"
        plan = Plan(p, kind)
        if kind == "table":  # one row per option, then the inactive row (zeros)
            if isinstance(p, Integer) and not self.grid:
                values = np.arange(p.low, p.high + 1, dtype=np.float64)
            elif isinstance(p, Float) and not self.grid:
                values = np.asarray([float(p.low)])
            else:
                values = p.grid()
            feats = np.hstack(
                [np.ones((len(values), 1 if p.active_if else 0)), p.encode_columns(values[:, None])]
            )
            rows = self._unit_rows(len(values) + 1, fs, np.vstack([feats, 0 * feats[:1]]))
            plan.group, plan.values = self._add_group(rows, fs), values
            plan.n_options = len(values)
            plan.uniform, self.n_uniforms = self.n_uniforms, self.n_uniforms + 1
            return plan
        if p.active_if:  # the active bit of a subset or a dense parameter: 0 or 1
            col = slice(fs.start, fs.start + 1)
            plan.active_group = self._add_group(self._unit_rows(2, col, [[0.0], [1.0]]), col)
        if kind == "subset":
            m = len(p.items)  # type: ignore[attr-defined]
            w0 = len(self.word_masks)
            plan.words = slice(w0, w0 + (m + 63) // 64)
            plan.bytes = slice(8 * w0, 8 * w0 + (m + 7) // 8)
            for j in range(0, m, 64):  # a word's bits beyond the last item stay zero
                self.word_masks.append(-1 if m - j >= 64 else (1 << (m - j)) - 1)
            bits = (np.arange(256)[:, None] >> np.arange(8)) & 1
            for j in range(0, m, 8):
                cols = slice(start + j, min(start + j + 8, fs.stop))
                rows = self._unit_rows(256, cols, bits[:, : cols.stop - cols.start])
                g = self._add_group(rows, cols)
                plan.group = g if plan.group < 0 else plan.group
        else:
            plan.dense = len(self.dense_columns)
            self.dense_columns.append(start)
            if kind == "float":
                plan.uniform, self.n_uniforms = self.n_uniforms, self.n_uniforms + 1
            else:
                plan.wide, self.n_wide = self.n_wide, self.n_wide + 1
        return plan

    def _link_conditions(self) -> None:
        pos = {n: i for i, n in enumerate(self.space.names)}
        for plan in self.plans:
            for parent, values in plan.param.active_if.items():
                pp = self.plans[pos[parent]]
                pp.is_parent = True
                codes = self.space.params[parent].condition_codes(values)
                allowed: int | torch.Tensor
                if pp.kind != "table":
                    allowed = torch.as_tensor(codes, dtype=torch.float64, device=self.device)
                elif np.isin(pp.values, codes).sum() == 1:  # the usual "model == x"
                    allowed = int(np.flatnonzero(np.isin(pp.values, codes))[0])
                else:
                    allowed = torch.as_tensor(np.isin(pp.values, codes), device=self.device)
                plan.conditions.append((pos[parent], allowed))
        self._share_uniforms()

    def _share_uniforms(self) -> None:
        """Let parameters that are never active together draw from the same uniforms.

        The children of one parent that are active only for different single options of
        it (``svm_C`` when ``model == "svm"``, ``knn_k`` when ``model == "knn"``) are never
        active in the same config, so the i-th child of each option can take the same row
        of uniforms: an active child's value is still independent of every other active
        one, and the draw needs as many rows as the largest family (fewer random numbers).
        """
        families: dict[int, dict[int, int]] = {}  # parent -> option -> children so far
        bases: dict[int, int] = {}  # parent -> its first shared row
        shared: list[tuple[Plan, int, int]] = []  # (plan, parent, slot)
        n_rows = 0
        for plan in self.plans:
            if plan.uniform < 0:
                continue
            only = plan.conditions[0] if len(plan.conditions) == 1 else None
            if only is not None and isinstance(only[1], int):
                parent, option = only
                slots = families.setdefault(parent, {})
                slot = slots.get(option, 0)
                slots[option] = slot + 1
                shared.append((plan, parent, slot))
            else:
                plan.uniform, n_rows = n_rows, n_rows + 1
        for plan, parent, slot in shared:
            if parent not in bases:
                bases[parent], n_rows = n_rows, n_rows + max(families[parent].values())
            plan.uniform = bases[parent] + slot
        self.n_uniforms = n_rows


def unscale(p: Float, u: torch.Tensor) -> torch.Tensor:
    """A Float's value at scaled position ``u`` (float64; a parent's condition key)."""
    lo, hi = float(p.low), float(p.high)
    if p.log:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def scale(p: Integer, v: torch.Tensor) -> torch.Tensor:
    """``Integer.encode_columns`` in torch (float64)."""
    lo, hi = float(p.low), float(p.high)
    if p.log:
        return (torch.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (v - lo) / (hi - lo)
