"""Sampling baselines: uniform random, the surrogate-scored random sample, and the exact
argmax over an enumerable space."""

from __future__ import annotations

import numpy as np

from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._select import TopK
from metarl.space import SearchSpace, SpaceError, Subset
from metarl.type_aliases import AcquisitionKind, ConfigMatrix


class GridSampler:
    """Uniform configs of the design grid, drawn as option indices and encoded by table
    lookup: the fast path of :class:`SurrogateSampling`.

    Each column draws an index into its parameter's grid (``uint8`` when every grid has at
    most 256 values); each parameter's features are a row of a precomputed table
    (``encode_columns`` of its grid), so a chunk is encoded by one gather per parameter,
    with no transcendental function per config. Only the rows kept are turned into value
    matrices (:meth:`matrix`). The features equal ``space.encode_matrix`` of those rows.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.grids = [p.grid() for p in space.params.values()]
        big = max(len(g) for g in self.grids)
        self.dtype = np.uint8 if big <= 256 else np.int32
        self.tables = [
            None if isinstance(p, Subset) else p.encode_columns(g[:, None]).astype(np.float32)
            for p, g in zip(space.params.values(), self.grids)
        ]
        pos = {n: i for i, n in enumerate(space.names)}
        # per parameter: [(parent position, parent column, allowed[grid index] bool table)]
        self.conditions = []
        for p in space.params.values():
            conds = []
            for parent, values in p.active_if.items():
                pp = space.params[parent]
                codes = pp.condition_codes(values)
                allowed = np.isin(self.grids[pos[parent]], codes)
                conds.append((pos[parent], space.column_slices[parent].start, allowed))
            self.conditions.append(conds)
        self.context = None
        if space.context:
            start = min(space.feature_slices[n].start for n in space.context)
            row = space.encode_matrix(space.sample_matrix(1, 0))
            self.context = (start, row[0, start:])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` configs: option indices (n, n_columns), activity (n, n_params), features."""
        space = self.space
        idx = np.empty((n, space.n_columns), dtype=self.dtype)
        act = np.ones((n, len(space.names)), dtype=bool)
        # column-major: every write below fills whole columns (about 1.3x faster)
        X = np.zeros((n, space.encoded_width), dtype=np.float32, order="F")
        for i, (name, p) in enumerate(space.params.items()):
            sl, fs = space.column_slices[name], space.feature_slices[name]
            if isinstance(p, Subset) and p.restricted:  # items a focus fixes; 0/1 = index
                block = p.sample_columns(rng, n).astype(self.dtype)
            else:
                block = rng.integers(
                    len(self.grids[i]), size=(n, sl.stop - sl.start), dtype=self.dtype
                )
            if isinstance(p, Subset) and p.min_size > 0 and not p.restricted:
                short = block.sum(axis=1) < p.min_size
                while short.any():  # rare for wide subsets: redraw the short rows
                    block[short] = rng.integers(2, size=(int(short.sum()), block.shape[1]))
                    short = block.sum(axis=1) < p.min_size
            idx[:, sl] = block
            for parent, col, allowed in self.conditions[i]:
                act[:, i] &= act[:, parent] & allowed[idx[:, col]]
            start = fs.start + (1 if p.active_if else 0)
            feats = block if self.tables[i] is None else self.tables[i][block[:, 0]]
            if p.active_if:
                X[:, fs.start] = act[:, i]
                feats = feats * act[:, i, None]
            X[:, start : fs.stop] = feats
        if self.context is not None:
            X[:, self.context[0] :] = self.context[1]
        return idx, act, X

    def matrix(self, idx: np.ndarray, act: np.ndarray | None = None) -> ConfigMatrix:
        """Value matrix of option indices (NaN where ``act`` says inactive)."""
        space = self.space
        M = np.empty(idx.shape, dtype=np.float64)
        for i, name in enumerate(space.names):
            sl = space.column_slices[name]
            M[:, sl] = self.grids[i][idx[:, sl]]
            if act is not None:
                M[~act[:, i], sl] = np.nan
        return M


def sample_grid(
    space: SearchSpace, n: int, rng: np.random.Generator, *, conditioned: bool = True
) -> ConfigMatrix:
    """``n`` configs drawn uniformly on the design grid (each column's grid, independently).

    Faster than ``space.sample_matrix`` (no transcendental functions), and its rows are the
    configs the design environment and ``enumerate`` produce, so dedupe is meaningful for
    Float parameters too. Inactive parameters are NaN, unless ``conditioned=False`` (every
    column gets a value: a source of fresh values for mutations).
    """
    sampler = GridSampler(space)
    idx, act, _ = sampler.sample(n, rng)
    return sampler.matrix(idx, act if conditioned else None)


def settle(space: SearchSpace, M: ConfigMatrix) -> np.ndarray:
    """Make mutated value rows configs of ``space``: the columns of parameters their
    changes deactivated become NaN, in place. Returns which rows to keep: (n,) bool, False
    where a Subset fell below its ``min_size``."""
    act = space.active_matrix(M)
    keep = np.ones(len(M), dtype=bool)
    for i, (name, p) in enumerate(space.params.items()):
        sl = space.column_slices[name]
        M[~act[:, i], sl] = np.nan
        if isinstance(p, Subset):
            keep &= ~act[:, i] | (M[:, sl].sum(axis=1) >= p.min_size)
    return keep


class RandomPolicy(ScoredPolicy):
    """Uniform random configs (model-free: the learner is not used).

    Args:
        max_rounds: how many redraws to try when duplicates or excluded configs are drawn.
        seed: seed of the random state.
    """

    name = "random"
    requires_learner = False

    def __init__(self, *, max_rounds: int = 20, seed: int | None = None) -> None:
        super().__init__(min_distance=1, seed=seed)
        self.max_rounds = max_rounds

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        space, n = problem.space, problem.n
        pool = TopK(space, n, problem.exclude)
        for _ in range(self.max_rounds):
            M = space.sample_matrix(2 * n + len(problem.exclude), problem.rng)
            # random scores make the pool a uniform draw among the distinct rows
            pool.add(M, problem.rng.random(len(M)))
            if len(pool.scores) >= n:
                break
        return pool.M, pool.scores


class SurrogateSampling(ScoredPolicy):
    """Score a very large uniform sample with the meta-learner, keep the best.

    Configs are drawn uniformly on the design grid (:func:`sample_grid`), the grid that
    ``exhaustive`` enumerates and the design environment builds on.

    Sampling, encoding and scoring are vectorised and chunked: memory stays bounded by
    ``chunk_size`` and the kept pool (``pool_factor * n`` rows), whatever ``n_samples``.
    A learner whose ``predict`` runs batched torch (on CUDA when present) is used as is.

    With ``device`` set, the whole pass runs in torch on that device instead
    (:func:`metarl.learners.device_topk`: configs drawn, scored and ranked there, only the
    kept rows come back to numpy): the path for billions of configs on a GPU. It needs a
    learner with a torch scoring path (linear, MLP ensemble); another learner is an error.

    Args:
        n_samples: how many configs to score in all.
        chunk_size: configs sampled, encoded and scored at once.
        pool_factor: candidates kept per proposal, for the diversity of the final pick.
        device: ``None`` (numpy, the default) or a torch device (``"cpu"``, ``"cuda"``)
            for the on-device path.
        acquisition, kappa, min_distance, seed: see :class:`ScoredPolicy`.
    """

    name = "surrogate_sampling"

    def __init__(
        self,
        *,
        n_samples: int = 1_000_000,
        chunk_size: int = 1 << 17,
        pool_factor: int = 10,
        device: str | None = None,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        if n_samples < 1 or chunk_size < 1:
            raise ValueError(
                f"n_samples and chunk_size must be >= 1, got {n_samples} and {chunk_size}"
            )
        self.n_samples = n_samples
        self.chunk_size = chunk_size
        self.pool_factor = pool_factor
        self.device = device

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        if self.device is not None:
            return self._device_candidates(problem)
        space = problem.space
        sampler = GridSampler(space)
        pool = TopK(space, self.pool_factor * problem.n, problem.exclude)
        # rows turned into configs per chunk: all of a small space (duplicates abound),
        # else a margin over what the pool can take
        keep = 4 * (pool.capacity + len(problem.exclude))
        small = space.cardinality <= 4 * self.chunk_size
        done = 0
        while done < self.n_samples:
            m = min(self.chunk_size, self.n_samples - done)
            idx, act, X = sampler.sample(m, problem.rng)
            scores = problem.score_encoded(X)
            if not small and m > keep:
                top = np.argpartition(-scores, keep - 1)[:keep]
                idx, act, scores = idx[top], act[top], scores[top]
            pool.add(sampler.matrix(idx, act), scores)
            done += m
        return pool.M, pool.scores

    def _device_candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        from metarl.learners._device_topk import device_topk
        from metarl.learners._torch_scoring import supports_torch_scoring

        if not supports_torch_scoring(problem.learner):
            raise ValueError(
                f"surrogate_sampling(device={self.device!r}): learner "
                f"{type(problem.learner).__name__} has no torch scoring path "
                "(use a linear or mlp_ensemble learner, or device=None)"
            )
        result = device_topk(
            problem.space,
            problem.learner,
            self.n_samples,
            self.pool_factor * problem.n,
            device=self.device,
            seed=int(problem.rng.integers(2**62)),
            acquisition=problem.acquisition,
            kappa=problem.kappa,
            direction=problem.direction,
            incumbent=problem.incumbent if problem.acquisition == "ei" else None,
            exclude=problem.exclude_configs,
            chunk=self.chunk_size,
        )
        problem.n_evaluations += result.n_scored
        return result.matrix, result.scores


class Exhaustive(ScoredPolicy):
    """The exact argmax of the acquisition over every config of the design grid.

    Args:
        max_configs: refuse spaces larger than this (a clear error suggests sampling).
        chunk_size: configs enumerated and scored at once (memory bound).
        pool_factor: candidates kept per proposal, for the diversity of the final pick.
        acquisition, kappa, min_distance, seed: see :class:`ScoredPolicy`.
    """

    name = "exhaustive"

    def __init__(
        self,
        *,
        max_configs: int = 10**7,
        chunk_size: int = 1 << 16,
        pool_factor: int = 10,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        self.max_configs = max_configs
        self.chunk_size = chunk_size
        self.pool_factor = pool_factor

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        card = problem.space.cardinality
        if card > self.max_configs:
            raise SpaceError(
                f"exhaustive: the space holds {card:.3g} configs, more than "
                f"max_configs={self.max_configs}; use 'surrogate_sampling' or 'ppo'"
            )
        pool = TopK(problem.space, self.pool_factor * problem.n, problem.exclude)
        for M in problem.space.enumerate(self.chunk_size, max_configs=self.max_configs):
            pool.add(M, problem.score(M))
        return pool.M, pool.scores
