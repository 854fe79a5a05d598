"""A batch of partial configs built one design decision at a time, vectorised in numpy.

Both :class:`~metarl.envs.DesignEnv` (a batch of one) and :class:`~metarl.envs.DesignVecEnv`
(a batch of N) step a :class:`DesignState`, so the sequential-design logic lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metarl.space import SearchSpace, SpaceError, Subset
from metarl.type_aliases import Config, ConfigMatrix


class DesignState:
    """N partial configs of ``space``, each built by one decision per step.

    The decisions are ``space.decisions``: one per value-matrix column, parents first. A
    decision whose parameter is inactive (its condition fails on the parents chosen so far)
    is skipped. Decision ``d`` offers ``len(space.decisions[d].options)`` options; the action
    is the index of the option (a choice index, a Float's bin, 0/1 for a Boolean or a Subset
    item).

    Everything is precomputed per decision at construction (option values, the encoded
    features each option writes, condition tables, Subset ``min_size`` thresholds), so that a
    step is a fixed handful of numpy operations over the batch, whatever N.

    Observation layout (float32, values in [0, 1]), ``obs_dim = W + 2 * D`` where W is
    ``space.encoded_width`` and D the number of decisions:

    - ``[0, W)``: the partial encoding: exactly ``space.encode_matrix`` of the config with
      undecided parameters treated as inactive (all zeros, "active" bit 0); the context
      features sit at its end, as in ``space.encode``. Once the config is complete this
      block *is* its encoding.
    - ``[W, W + D)``: 1 for each decision made (skipped decisions stay 0).
    - ``[W + D, W + 2D)``: one-hot of the current decision (all zeros once complete).

    Invalid actions (out of range, or masked: e.g. a Subset item "off" when the remaining
    items are all needed to reach ``min_size``) are mapped deterministically to the
    ``(action mod n_valid)``-th valid option (counting from 0, in option order), so an
    agent that ignores the masks never crashes the environment.

    Args:
        space: the search space (its context values must be set when it has context).
        n: the batch size.
    """

    def __init__(self, space: SearchSpace, n: int = 1) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        self.space = space
        self.n = int(n)
        self.decisions = space.decisions
        D = len(self.decisions)
        self.n_decisions = D
        self.encoded_width = W = space.encoded_width
        n_opts = np.asarray([len(d.options) for d in self.decisions], dtype=np.int64)
        A = int(n_opts.max())
        self.n_actions = A
        self.obs_dim = W + 2 * D
        self._scratch = self.obs_dim  # a write-only column the returned obs never shows
        self._build_tables(n_opts)
        self._rows = np.arange(self.n)
        self._darange = np.arange(D)
        self.choice = np.full((self.n, D), -1, dtype=np.int64)
        self.ptr = np.zeros(self.n, dtype=np.int64)
        self._on = np.zeros((self.n, len(space.names)), dtype=np.int64)
        self._obs = np.zeros((self.n, self.obs_dim + 1), dtype=np.float32)
        self.masks = np.zeros((self.n, A), dtype=bool)
        self.reset()

    # ------------------------------------------------------------------ tables
    def _build_tables(self, n_opts: np.ndarray) -> None:
        space, D, A, W = self.space, self.n_decisions, self.n_actions, self.encoded_width
        pos = {name: i for i, name in enumerate(space.names)}
        # option values; index -1 (an undecided / inactive decision) reads the NaN pad
        self.values = np.full((D, A + 1), np.nan)
        # valid[d, a]: option a exists at decision d; row D (complete) offers action 0 only
        self._valid = np.zeros((D + 1, A), dtype=bool)
        self._valid[D, 0] = True
        self._param = np.zeros(D + 1, dtype=np.int64)
        self._next_param = np.full(D + 1, D, dtype=np.int64)
        # Subset min_size: "off" is invalid while on-count < thr (thr <= 0: never)
        self._thr = np.zeros(D + 1, dtype=np.int64)
        self._subset_on = np.zeros((D, A), dtype=np.int64)
        enc_cols: list[np.ndarray] = []
        enc_vals: list[np.ndarray] = []
        for d, dec in enumerate(self.decisions):
            if dec.column != d:  # the design relies on decision d filling column d
                raise SpaceError(f"decision {d} fills column {dec.column}; expected {d}")
            p = space.params[dec.param]
            k = len(dec.options)
            self.values[d, :k] = dec.options
            self._valid[d, :k] = True
            self._param[d] = pos[dec.param]
            self._next_param[d] = space.column_slices[dec.param].stop
            fs = space.feature_slices[dec.param]
            start = fs.start + (1 if p.active_if else 0)
            if p.n_columns == 1:
                cols = np.arange(start, fs.stop)
                vals = p.encode_columns(dec.options[:, None])
            else:  # a Subset: item j is column j and feature j of the parameter
                if not isinstance(p, Subset):
                    raise SpaceError(f"parameter {dec.param!r}: unsupported multi-column kind")
                j = d - space.column_slices[dec.param].start
                cols = np.asarray([start + j])
                vals = p.encode_columns(dec.options[:, None])
                # "off" is invalid while the later items that can still be on (a focus may
                # fix some) are too few for min_size; an item a focus fixes on has no "off"
                later = self.decisions[d + 1 : space.column_slices[dec.param].stop]
                can_be_on = sum(bool((o.options == 1.0).any()) for o in later)
                self._thr[d] = p.min_size - can_be_on if dec.options[0] == 0.0 else 0
                self._subset_on[d, :k] = dec.options == 1.0
            if p.active_if:  # deciding a conditional parameter sets its "active" bit
                cols = np.concatenate([[fs.start], cols])
                vals = np.concatenate([np.ones((k, 1), dtype=np.float32), vals], axis=1)
            enc_cols.append(cols)
            enc_vals.append(vals)
        w = max(len(c) for c in enc_cols)
        self._enc_idx = np.full((D, w), self._scratch, dtype=np.int64)
        self._enc_val = np.zeros((D, A, w), dtype=np.float32)
        for d, (cols, vals) in enumerate(zip(enc_cols, enc_vals)):
            self._enc_idx[d, : len(cols)] = cols
            self._enc_val[d, : len(vals), : len(cols)] = vals
        self._dec_col = W + np.arange(D)
        self._hot_col = np.append(W + D + np.arange(D), self._scratch)
        self._build_conditions(pos)
        # Zobrist keys: one random 64-bit word per (decision, option); a config's key is the
        # XOR over its decisions (inactive ones read the pad word)
        rng = np.random.default_rng(0x6D657461)
        self._zobrist = rng.integers(0, 2**63, size=(D, A + 1), dtype=np.int64).astype(np.uint64)
        # initial observation row: the context features and the one-hot of the first step
        ctx = space.encode_matrix(space.sample_matrix(1, seed=0))[0]
        self._init_row = np.zeros(self.obs_dim + 1, dtype=np.float32)
        ctx_start = min((space.feature_slices[c].start for c in space.context), default=W)
        self._init_row[ctx_start:W] = ctx[ctx_start:W]

    def _build_conditions(self, pos: dict[str, int]) -> None:
        space, D, A = self.space, self.n_decisions, self.n_actions
        conds = [list(space.params[dec.param].active_if.items()) for dec in self.decisions]
        K = max(len(c) for c in conds)
        self._K = K
        self._karange = np.arange(K)
        # cond_ok[d, k, a]: condition k of decision d holds when its parent took option a
        # (a = -1, i.e. the pad at A: the parent is inactive, so the condition fails)
        self._cond_parent = np.zeros((D + 1, K), dtype=np.int64)
        self._cond_ok = np.ones((D + 1, K, A + 1), dtype=bool)
        for d, items in enumerate(conds):
            for k, (parent, allowed) in enumerate(items):
                pd = space.column_slices[parent].start
                codes = space.params[parent].condition_codes(allowed)
                self._cond_parent[d, k] = pd
                self._cond_ok[d, k] = np.isin(self.values[pd], codes)  # NaN pad -> False

    # ------------------------------------------------------------------ dynamics
    def _advance(self, ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Move each pointer to the first active decision at or after it (D: complete)."""
        if self._K == 0:
            return ptr
        while True:
            ch = self.choice[rows[:, None], self._cond_parent[ptr]]
            act = self._cond_ok[ptr[:, None], self._karange, ch].all(axis=1)
            if act.all():
                return ptr
            ptr = np.where(act, ptr, self._next_param[ptr])

    def _update_masks(self, rows: np.ndarray) -> None:
        t = self.ptr[rows]
        m = self._valid[t]
        m[:, 0] &= self._on[rows, self._param[t]] >= self._thr[t]
        self.masks[rows] = m

    def reset(self, rows: np.ndarray | None = None) -> None:
        """Start new, empty configs in ``rows`` (default: all)."""
        rows = self._rows if rows is None else np.asarray(rows, dtype=np.int64)
        self.choice[rows] = -1
        self._on[rows] = 0
        self._obs[rows] = self._init_row
        self.ptr[rows] = self._advance(np.zeros(len(rows), dtype=np.int64), rows)
        self._obs[rows, self._hot_col[self.ptr[rows]]] = 1.0
        self._update_masks(rows)

    @property
    def done(self) -> np.ndarray:
        """(n,) bool: which configs are complete."""
        return self.ptr == self.n_decisions

    def valid_actions(self, actions: np.ndarray) -> np.ndarray:
        """Map each action to a valid option index (see the class docstring); vectorised."""
        a = np.asarray(actions).reshape(-1).astype(np.int64)
        if a.shape != (self.n,):
            raise ValueError(f"expected {self.n} actions, got shape {np.shape(actions)}")
        ok = (a >= 0) & (a < self.n_actions)
        ok[ok] = self.masks[self._rows[ok], a[ok]]
        if not ok.all():
            m = self.masks[~ok]
            k = a[~ok] % m.sum(axis=1)
            a[~ok] = np.argmax(np.cumsum(m, axis=1) > k[:, None], axis=1)
        return a

    def step(self, actions: np.ndarray) -> np.ndarray:
        """Apply one action per config; returns (n,) bool, which configs are now complete.

        Raises:
            RuntimeError: when a config is already complete (reset it first).
        """
        if self.done.any():
            raise RuntimeError(
                f"config(s) {np.flatnonzero(self.done).tolist()} are complete: reset them first"
            )
        a = self.valid_actions(actions)
        rows, t = self._rows, self.ptr
        self.choice[rows, t] = a
        self._on[rows, self._param[t]] += self._subset_on[t, a]
        obs = self._obs
        obs[rows[:, None], self._enc_idx[t]] = self._enc_val[t, a]
        obs[rows, self._dec_col[t]] = 1.0
        obs[rows, self._hot_col[t]] = 0.0
        self.ptr = self._advance(t + 1, rows)
        obs[rows, self._hot_col[self.ptr]] = 1.0
        self._update_masks(rows)
        return self.done

    # ------------------------------------------------------------------ views
    def observations(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, obs_dim) float32 copy of the observations (of ``rows`` when given)."""
        if rows is None:
            return self._obs[:, : self.obs_dim].copy()
        return self._obs[rows, : self.obs_dim]

    def features(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, W) float32 partial encodings; for complete rows, ``space.encode`` of them."""
        rows = self._rows if rows is None else rows
        return self._obs[rows, : self.encoded_width]

    def matrix(self, rows: np.ndarray | None = None) -> ConfigMatrix:
        """Value matrix of the (partial) configs; NaN where undecided or inactive."""
        ch = self.choice if rows is None else self.choice[rows]
        return self.values[self._darange, ch]

    def configs(self, rows: np.ndarray | None = None) -> list[Config]:
        """The (partial) configs as dicts."""
        return self.space.to_configs(self.matrix(rows))

    def keys(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(n,) uint64 keys of the configs; equal configs, equal keys (Zobrist hashing)."""
        ch = self.choice if rows is None else self.choice[rows]
        return self.key_of_choices(ch)

    def key_of_choices(self, choices: np.ndarray) -> np.ndarray:
        """(m,) uint64 keys of option-index rows (as from :meth:`choices_of`)."""
        return np.bitwise_xor.reduce(self._zobrist[self._darange, choices], axis=1)

    # ------------------------------------------------------------------ configs -> actions
    def choices_of(self, M: ConfigMatrix, *, strict: bool = True) -> np.ndarray:
        """(m, D) option index per decision of each row of a value matrix (-1: inactive).

        Args:
            M: value matrix (``space.to_matrix`` of configs).
            strict: raise on a value that is not on the design grid; else mark its row
                with -2 in every column (such a config can never be built).

        Raises:
            SpaceError: (strict) a value off the design grid, naming the parameter.
        """
        M = np.asarray(M, dtype=np.float64)
        out = np.full(M.shape, -1, dtype=np.int64)
        off = np.zeros(len(M), dtype=bool)
        for d, dec in enumerate(self.decisions):
            col = M[:, d]
            known = ~np.isnan(col)
            idx = np.abs(col[known, None] - dec.options[None, :]).argmin(axis=1)
            hit = np.isclose(dec.options[idx], col[known], rtol=1e-9, atol=1e-12)
            if strict and not hit.all():
                bad = col[known][~hit][0]
                raise SpaceError(
                    f"value {bad!r} of parameter {dec.param!r} is not on the design grid "
                    f"{dec.options.tolist()}; use space.snap_to_grid"
                )
            out[known, d] = idx
            off[np.flatnonzero(known)[~hit]] = True
        out[off] = -2
        return out

    def actions_for(self, configs: Sequence[Config] | ConfigMatrix) -> list[list[int]]:
        """The action sequence that builds each config (its active decisions, in order)."""
        M = configs if isinstance(configs, np.ndarray) else self.space.to_matrix(list(configs))
        return [row[row >= 0].tolist() for row in self.choices_of(M)]
