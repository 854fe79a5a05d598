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
from typing import NamedTuple

import torch

from metarl.space import SearchSpace
from metarl.space._torch_layout import Layout, Plan, scale, unscale
from metarl.type_aliases import ConfigMatrix


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
        layout: the :class:`~metarl.space._torch_layout.Layout` of the draws (its
            ``rows``, ``groups``, ``dense_columns`` and ``context_row`` are also
            attributes of the sampler).

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
        self.layout = Layout(space, grid, self.device)
        self.plans, self.groups = self.layout.plans, self.layout.groups
        self.rows, self.context_row = self.layout.rows, self.layout.context_row
        self.dense_columns = self.layout.dense_columns
        self._offsets = torch.as_tensor(
            [g.offset for g in self.groups], dtype=torch.int32, device=self.device
        )
        # per group: every row restricted to the group's columns, transposed so that a
        # gather of codes writes whole rows of the transposed encoding
        self._tables = [
            torch.as_tensor(self.rows[:, g.cols].T.copy(), dtype=dtype, device=self.device)
            for g in self.groups
        ]
        start = self.layout.context_start
        self._context = torch.as_tensor(self.context_row[start:], dtype=dtype, device=self.device)
        popcount = [bin(v).count("1") for v in range(256)]
        self._popcount = torch.as_tensor(popcount, dtype=torch.int16, device=self.device)

    def reseed(self, seed: int | None) -> None:
        """Restart the generator (``None``: a fresh nondeterministic seed)."""
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

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
        U = torch.rand((self.layout.n_uniforms, n), generator=gen, device=dev)
        U64 = torch.rand((self.layout.n_wide, n), generator=gen, device=dev, dtype=torch.float64)
        words = self._words(n)
        self._redraw_short_subsets(words)
        return Uniforms(U, U64, words)

    def _words(self, n: int) -> torch.Tensor:
        """(n, n_words) int64 random words, each Subset's items in its own words' low bits
        (one generator draw per 64 items)."""
        words = torch.empty((n, len(self.layout.word_masks)), dtype=torch.int64, device=self.device)
        words.random_(-(2**63), None, generator=self.generator)  # all 64 bits
        if any(m != -1 for m in self.layout.word_masks):
            words &= torch.as_tensor(self.layout.word_masks, device=self.device)
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
        self, plan: Plan, keys: list[torch.Tensor | None], actives: list[torch.Tensor | None]
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
        plan: Plan,
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
            key = unscale(p, x.double()) if plan.is_parent else None
        else:  # integers: float64 uniforms (float32 has too few levels for wide ranges)
            if plan.kind == "int":
                key = torch.floor(p.low + x * (p.high - p.low + 1)).clamp_max(p.high)
            else:
                lo, hi = math.log(p.low - 0.5), math.log(p.high + 0.5)
                key = torch.clamp(torch.round(torch.exp(lo + x * (hi - lo))), p.low, p.high)
            value = scale(p, key).float()
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
        Xt[self.layout.context_start :] = self._context[:, None]
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
