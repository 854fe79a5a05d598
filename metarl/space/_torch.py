"""Uniform configs drawn on a torch device, as option codes or directly as their encoding.

:class:`TorchSampler` is the first stage of the on-device scoring path (sample, encode and
score in torch with no numpy round trip; see :func:`metarl.learners._device_topk.device_topk`).

A config's encoding is a sum of *rows*: each discrete part of a config (a Categorical's
choice, a parameter's grid option, eight items of a Subset, an active bit) selects one row of
a small table (:attr:`TorchSampler.rows`, the encoding of that part alone, zeros elsewhere),
and the continuous parts (a Float's scaled value) add a scaled unit vector. So a draw is
kept as integer *codes* (one per part) plus a few dense columns: :meth:`TorchSampler.encode`
turns them into the float matrix, and a model whose first layer is affine can skip that
matrix altogether by gathering rows of ``rows @ weight`` (an embedding-bag sum; see
:mod:`metarl.learners._torch_scoring`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from metarl.space import Float, Integer, Param, SearchSpace, Subset
from metarl.type_aliases import ConfigMatrix

#: A non-log Integer with more values than this is drawn as a number, not a table option.
_TABLE_LIMIT = 4096


class Codes(NamedTuple):
    """A chunk of configs drawn by :meth:`TorchSampler.sample_codes`.

    Attributes:
        codes: ``(n, n_groups)`` int32, each group's row (an index into the sampler's
            ``rows``): a row of ``codes`` is one bag of an embedding-bag sum.
        dense: ``(n_dense, n)`` float32 scaled values of the continuous parameters (zero
            where inactive).
    """

    codes: torch.Tensor
    dense: torch.Tensor

    def __len__(self) -> int:
        return self.codes.shape[0]

    def take(self, index: torch.Tensor) -> Codes:
        """The configs at ``index`` (a 1-D index tensor)."""
        return Codes(self.codes[index], self.dense[:, index])


class Uniforms(NamedTuple):
    """The random numbers of a chunk of configs (see :meth:`TorchSampler.draw_uniforms`).

    Attributes:
        U: ``(n_uniforms, n)`` float32 uniforms (table options, continuous Floats).
        U64: ``(n_wide, n)`` float64 uniforms (Integers drawn as numbers).
        words: ``(n, n_words)`` int64 random bits (Subset items).
    """

    U: torch.Tensor
    U64: torch.Tensor
    words: torch.Tensor

    def __len__(self) -> int:
        return self.words.shape[0]

    def take(self, index: torch.Tensor) -> Uniforms:
        """The configs at ``index`` (a 1-D index tensor)."""
        return Uniforms(self.U[:, index], self.U64[:, index], self.words[index])


@dataclass
class _Group:
    """A table of rows one code selects: ``rows[c]`` is a full-width encoding vector."""

    rows: np.ndarray  # (k, encoded_width) float64
    cols: slice  # the feature columns its rows touch
    offset: int = 0  # first row in the sampler's concatenated table


@dataclass
class _Plan:
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


class TorchSampler:
    """Draws uniform configs of a space on a torch device.

    Equal in distribution to ``space.sample_matrix`` followed by ``space.encode_matrix``
    (with ``grid=True``: to the encoding of configs drawn uniformly on the design grid,
    each column independently, as :class:`~metarl.agents._sampling.GridSampler` and
    ``SurrogateSampling`` draw them): the same columns, one-hot or scaled features, Subset
    bits (rows below ``min_size`` redrawn), active bits, zeroed inactive features and
    constant context columns.

    Args:
        space: the search space (with its context values set, if it has context).
        device: a torch device (``"cpu"``, ``"cuda"``, ...).
        grid: draw every parameter on its design grid rather than as ``sample_matrix`` does
            (continuous Floats, every Integer value). Grid rows decode to exact grid values.
        dtype: dtype of the encoded matrix (``torch.float32``, or ``torch.bfloat16`` to feed
            a bf16 scorer without a cast; scaled values are then rounded to bf16).
        seed: seed of the sampler's ``torch.Generator``.

    Attributes:
        rows: ``(n_rows, encoded_width)`` float64, every group's rows, concatenated.
        dense_columns: the feature column of each dense column.
        context_row: ``(encoded_width,)`` float64, the context features (zeros elsewhere).

    Example:
        >>> sampler = TorchSampler(space, "cuda", seed=0)
        >>> X = sampler.sample(1 << 20)  # (2**20, space.encoded_width) on the GPU
        >>> configs = space.to_configs(sampler.decode(X[:5]))
    """

    def __init__(
        self,
        space: SearchSpace,
        device: str | torch.device = "cpu",
        *,
        grid: bool = False,
        dtype: torch.dtype = torch.float32,
        seed: int | None = None,
    ) -> None:
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating dtype, got {dtype}")
        self.space = space
        self.device = torch.device(device)
        self.grid = grid
        self.dtype = dtype
        self.generator = torch.Generator(self.device)
        self.reseed(seed)
        self.groups: list[_Group] = []
        self.dense_columns: list[int] = []
        self._n_uniforms = self._n_wide = 0
        self._word_masks: list[int] = []  # per random word: the bits that are items
        self.plans = [self._plan(p) for p in space.params.values()]
        self._link_conditions()
        n_rows = 0
        for g in self.groups:
            g.offset, n_rows = n_rows, n_rows + len(g.rows)
        self.rows = np.concatenate([g.rows for g in self.groups])
        self._offsets = torch.as_tensor(
            [g.offset for g in self.groups], dtype=torch.int32, device=self.device
        )
        # per group: every row restricted to the group's columns, transposed so that a
        # gather of codes writes whole rows of the transposed encoding
        self._tables = [
            torch.as_tensor(self.rows[:, g.cols].T.copy(), dtype=dtype, device=self.device)
            for g in self.groups
        ]
        self.context_row = np.zeros(space.encoded_width)
        self._context: torch.Tensor | None = None
        if space.context:
            start = min(space.feature_slices[n].start for n in space.context)
            self.context_row[start:] = space.encode_matrix(space.sample_matrix(1, 0))[0, start:]
            self._context_start = start
            ctx = torch.as_tensor(self.context_row[start:], dtype=dtype, device=self.device)
            self._context = ctx[:, None]
        popcount = [bin(v).count("1") for v in range(256)]
        self._popcount = torch.as_tensor(popcount, dtype=torch.int16, device=self.device)

    def reseed(self, seed: int | None) -> None:
        """Restart the generator (``None``: a fresh nondeterministic seed)."""
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    # ------------------------------------------------------------------ layout
    def _add_group(self, rows: np.ndarray, cols: slice) -> int:
        self.groups.append(_Group(rows, cols))
        return len(self.groups) - 1

    def _unit_rows(self, k: int, cols: slice, values: np.ndarray) -> np.ndarray:
        rows = np.zeros((k, self.space.encoded_width))
        rows[:, cols] = values
        return rows

    def _plan(self, p: Param) -> _Plan:
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
            elif p.high - p.low + 1 > _TABLE_LIMIT:
                kind = "int"
        plan = _Plan(p, kind)
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
            plan.uniform, self._n_uniforms = self._n_uniforms, self._n_uniforms + 1
            return plan
        if p.active_if:  # the active bit of a subset or a dense parameter: 0 or 1
            col = slice(fs.start, fs.start + 1)
            plan.active_group = self._add_group(self._unit_rows(2, col, [[0.0], [1.0]]), col)
        if kind == "subset":
            m = len(p.items)  # type: ignore[attr-defined]
            w0 = len(self._word_masks)
            plan.words = slice(w0, w0 + (m + 63) // 64)
            plan.bytes = slice(8 * w0, 8 * w0 + (m + 7) // 8)
            for j in range(0, m, 64):  # a word's bits beyond the last item stay zero
                self._word_masks.append(-1 if m - j >= 64 else (1 << (m - j)) - 1)
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
                plan.uniform, self._n_uniforms = self._n_uniforms, self._n_uniforms + 1
            else:
                plan.wide, self._n_wide = self._n_wide, self._n_wide + 1
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
        shared: list[tuple[_Plan, int, int]] = []  # (plan, parent, slot)
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
        self._n_uniforms = n_rows

    # ------------------------------------------------------------------ sampling
    def sample_codes(self, n: int) -> Codes:
        """``n`` uniform configs as :class:`Codes` (integer codes and dense columns)."""
        return self.codes_from_uniforms(self.draw_uniforms(n))

    def draw_uniforms(self, n: int) -> Uniforms:
        """The random numbers of ``n`` configs: three generator calls (float32 uniforms,
        float64 uniforms for wide Integers, 64-bit words for the Subsets' items), Subset
        rows below ``min_size`` redrawn. The configs are a deterministic map of them
        (:meth:`parts`, :meth:`codes_from_uniforms`)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        gen, dev = self.generator, self.device
        U = torch.rand((self._n_uniforms, n), generator=gen, device=dev)
        U64 = torch.rand((self._n_wide, n), generator=gen, device=dev, dtype=torch.float64)
        words = self._words(n)
        self._redraw_short_subsets(words)
        return Uniforms(U, U64, words)

    def _words(self, n: int) -> torch.Tensor:
        """(n, n_words) int64 random words, each Subset's items in its own words' low bits
        (one generator draw per 64 items)."""
        words = torch.empty((n, len(self._word_masks)), dtype=torch.int64, device=self.device)
        words.random_(-(2**63), None, generator=self.generator)  # all 64 bits
        if any(m != -1 for m in self._word_masks):
            words &= torch.as_tensor(self._word_masks, device=self.device)
        return words

    def _redraw_short_subsets(self, words: torch.Tensor) -> None:
        """Redraw (in place) the words of rows where a Subset has fewer than ``min_size``
        items: rejection, so each Subset is uniform over its allowed subsets."""
        subsets = [q for q in self.plans if q.kind == "subset" and q.param.min_size > 0]  # type: ignore[attr-defined]
        while subsets:
            short = torch.zeros(words.shape[0], dtype=torch.bool, device=self.device)
            for q in subsets:
                w = words[:, q.words]
                if q.param.min_size == 1:  # type: ignore[attr-defined]
                    short |= (w == 0).all(1)  # no popcount needed: any item at all
                else:
                    b = w.contiguous().view(torch.uint8)
                    count = self._popcount.index_select(0, b.flatten().long())
                    short |= count.view(b.shape).sum(1) < q.param.min_size  # type: ignore[attr-defined]
            if not bool(short.any()):  # P(short) = 2**-m for min_size 1: rarely loops
                return
            redo = short.nonzero()[:, 0]
            words[redo] = self._words(len(redo))

    def parts(self, u: Uniforms) -> tuple[list[tuple[int, torch.Tensor]], list[torch.Tensor]]:
        """The configs that uniforms ``u`` stand for, as pure tensor functions of them.

        A table option is ``floor(u * k)`` (float32 ``u``: a bias below ``k / 2**24``), a
        continuous Float's encoding is ``u`` itself, a wide Integer comes from a float64
        ``u`` as ``Integer.sample_columns`` draws it, a Subset's bits are the words' bits;
        the conditions then send the inactive parts to their zero rows.

        Returns:
            ``blocks``: ``(group, local codes)`` pairs, the codes ``(n,)`` int32 (one group)
            or ``(n, w)`` uint8 (a Subset's ``w`` byte groups from ``group`` on); add the
            groups' offsets for rows of :attr:`rows`. ``dense``: one ``(n,)`` float32 scaled
            value per dense column (zero where inactive).
        """
        raw = u.words.view(torch.uint8)  # (n, 8 * n_words): 8 items per byte
        blocks: list[tuple[int, torch.Tensor]] = []
        dense: list[torch.Tensor] = []
        keys: list[torch.Tensor | None] = []  # option index or value, for the conditions
        actives: list[torch.Tensor | None] = []  # None: always active
        for plan in self.plans:
            active = self._activity(plan, keys, actives)
            actives.append(active)
            keys.append(self._draw(plan, u, raw, blocks, dense, active))
            if active is not None and plan.active_group >= 0:
                blocks.append((plan.active_group, active.to(torch.int32)))
        return blocks, dense

    def codes_from_uniforms(self, u: Uniforms) -> Codes:
        """:class:`Codes` of the configs that uniforms ``u`` stand for (see :meth:`parts`)."""
        blocks, dense = self.parts(u)
        n = len(u)
        codes = torch.empty((n, len(self.groups)), dtype=torch.int32, device=self.device)
        for g, c in blocks:  # each block written once, with its groups' offsets
            if c.dim() == 1:
                torch.add(c, self.groups[g].offset, out=codes[:, g])
            else:
                offsets = self._offsets[g : g + c.shape[1]]
                torch.add(c, offsets, out=codes[:, g : g + c.shape[1]])
        if dense:
            return Codes(codes, torch.stack(dense))
        return Codes(codes, torch.empty((0, n), device=self.device))

    def _activity(
        self, plan: _Plan, keys: list[torch.Tensor | None], actives: list[torch.Tensor | None]
    ) -> torch.Tensor | None:
        active = None
        for parent, allowed in plan.conditions:
            key = keys[parent]
            if isinstance(allowed, int):  # one compare, no gather
                ok = key == allowed
            elif allowed.dtype == torch.bool:
                ok = allowed[key]
            else:
                ok = torch.isin(key, allowed)
            if actives[parent] is not None:
                ok = ok & actives[parent]
            active = ok if active is None else active & ok
        return active

    def _draw(
        self,
        plan: _Plan,
        u: Uniforms,
        raw: torch.Tensor,
        blocks: list[tuple[int, torch.Tensor]],
        dense: list[torch.Tensor],
        active: torch.Tensor | None,
    ) -> torch.Tensor | None:
        """Append the parameter's codes or dense column; return its condition key."""
        p = plan.param
        if plan.kind == "subset":
            b = raw[:, plan.bytes]
            if active is not None:  # inactive: byte 0, the all-zero row
                b = b * active[:, None]
            blocks.append((plan.group, b))
            return None
        x = u.U[plan.uniform] if plan.uniform >= 0 else u.U64[plan.wide]
        if plan.kind == "table":
            k = plan.n_options  # also the inactive row
            key = torch.clamp_max((x * k).to(torch.int32), k - 1)
            # inactive: row k; arithmetic rather than torch.where (several times faster on CPU)
            blocks.append((plan.group, key if active is None else k - (k - key) * active))
            return key if plan.is_parent else None
        if plan.kind == "float":
            value = x
            key = _unscale(p, x.double()) if plan.is_parent else None
        else:  # integers: float64 uniforms (float32 has too few levels for wide ranges)
            if plan.kind == "int":
                key = torch.floor(p.low + x * (p.high - p.low + 1)).clamp_max(p.high)
            else:
                lo, hi = math.log(p.low - 0.5), math.log(p.high + 0.5)
                key = torch.clamp(torch.round(torch.exp(lo + x * (hi - lo))), p.low, p.high)
            value = _scale(p, key).float()
        dense.append(value if active is None else value * active)
        return key

    def encode(self, draw: Codes) -> torch.Tensor:
        """:class:`Codes` -> the ``(n, encoded_width)`` encoded matrix on the device.

        The result is the transpose of a contiguous ``(encoded_width, n)`` tensor: each
        group fills whole rows of it, and matmuls take it as it is.
        """
        n = len(draw)
        Xt = torch.empty((self.space.encoded_width, n), dtype=self.dtype, device=self.device)
        for g, table, code in zip(self.groups, self._tables, draw.codes.T):
            torch.index_select(table, 1, code, out=Xt[g.cols])
        for col, values in zip(self.dense_columns, draw.dense):
            Xt[col].copy_(values)
        if self._context is not None:
            Xt[self._context_start :] = self._context
        return Xt.T

    def encode_uniforms(self, u: Uniforms) -> torch.Tensor:
        """The encoded matrix of the configs that uniforms ``u`` stand for."""
        return self.encode(self.codes_from_uniforms(u))

    def sample(self, n: int) -> torch.Tensor:
        """``n`` uniform configs as their ``(n, encoded_width)`` encoding on the device."""
        return self.encode(self.sample_codes(n))

    # ------------------------------------------------------------------ decoding
    def decode(self, X: torch.Tensor) -> ConfigMatrix:
        """Encoded rows (a few, e.g. the top-k) -> value matrix on the host.

        With ``grid=True`` values are snapped to the design grid, so the rows' keys equal
        those of the same configs built from dicts (exclusion and dedupe work).
        """
        M = self.space.decode_matrix(X.detach().float().cpu().numpy())
        return self.space.snap_to_grid(M) if self.grid else M


def _unscale(p: Float, u: torch.Tensor) -> torch.Tensor:
    """A Float's value at scaled position ``u`` (float64; a parent's condition key)."""
    lo, hi = float(p.low), float(p.high)
    if p.log:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def _scale(p: Integer, v: torch.Tensor) -> torch.Tensor:
    """``Integer.encode_columns`` in torch (float64)."""
    lo, hi = float(p.low), float(p.high)
    if p.log:
        return (torch.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return (v - lo) / (hi - lo)
