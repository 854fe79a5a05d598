"""Regularized evolution (Real et al., 2019): the classic NAS baseline, model-free or on the
meta-learner's acquisition."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metarl.agents._sampling import sample_grid
from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._select import TopK
from metarl.learners._acquisition import check_direction
from metarl.space import SearchSpace, Subset
from metarl.type_aliases import AcquisitionKind, Config, ConfigMatrix, Direction


def mutate(space: SearchSpace, M: ConfigMatrix, rng: np.random.Generator) -> ConfigMatrix:
    """One-parameter mutation of each row of ``M`` (vectorised over rows).

    Each row changes one of its active parameters to another value of its design grid (a
    Subset flips one item, keeping ``min_size``). Parameters that the change activates get
    uniform grid values; those it deactivates become NaN.
    """
    M = np.array(M, dtype=np.float64)
    n = len(M)
    act = space.active_matrix(M)
    # pick one active parameter per row, uniformly
    weights = act / act.sum(axis=1, keepdims=True)
    which = (weights.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    fresh = sample_grid(space, n, rng, conditioned=False)
    for i, (name, p) in enumerate(space.params.items()):
        rows = np.flatnonzero(which == i)
        if len(rows) == 0:
            continue
        sl = space.column_slices[name]
        if isinstance(p, Subset):
            free = np.asarray([len(g) == 2 for g in p.column_grids()])  # a focus fixes others
            if not free.any():
                continue
            item = np.flatnonzero(free)[rng.integers(free.sum(), size=len(rows))]
            block = M[rows, sl]
            cur = block[np.arange(len(rows)), item]
            # an "off" flip that would break min_size turns an item on instead
            too_small = (cur == 1) & (block.sum(axis=1) - 1 < p.min_size)
            block[np.arange(len(rows)), item] = np.where(too_small, cur, 1.0 - cur)
            if too_small.any():
                off = np.where(
                    (block[too_small] == 0) & free, rng.random(block[too_small].shape), -1
                )
                sub = block[too_small]
                sub[np.arange(len(sub)), off.argmax(axis=1)] = 1.0
                block[too_small] = sub
            M[rows, sl] = block
            continue
        grid = p.grid()
        if len(grid) < 2:
            continue
        cur = np.abs(M[rows, sl.start][:, None] - grid).argmin(axis=1)
        shift = rng.integers(1, len(grid), size=len(rows))  # never the current value
        M[rows, sl.start] = grid[(cur + shift) % len(grid)]
    # newly active parameters get fresh values; newly inactive ones become NaN
    M = np.where(np.isnan(M), fresh, M)
    act = space.active_matrix(M)
    for i, name in enumerate(space.names):
        M[~act[:, i], space.column_slices[name]] = np.nan
    return M


class RegularizedEvolution(ScoredPolicy):
    """Regularized (aging) evolution: tournament selection, one-parameter mutation, and the
    oldest member dies.

    Two modes:

    - **On the surrogate** (``propose`` with a learner): ``n_evaluations`` children are
      scored with the acquisition, ``batch_size`` per learner call (``batch_size=1`` is the
      classic sequential algorithm; larger batches run the same selection in parallel and
      are much faster for learners with per-call overhead). The best distinct children
      seen are proposed.
    - **Model-free** (``propose`` with ``learner=None``): the population is the last
      ``population_size`` entries of ``history``; ``n`` children are bred from it. This is
      how the refinement loop drives it without a meta-learner.

    For a comparison harness with its own objective, the same algorithm is exposed as
    ask/tell::

        rea = RegularizedEvolution(seed=0)
        for _ in range(budget):
            (config,) = rea.ask(space)
            rea.tell(space, [config], [objective(config)], direction="minimize")

    The first ``population_size`` asks are uniform random (the initial population).

    Args:
        population_size: members alive at once (20 in the NAS literature).
        tournament_size: members sampled per tournament (5).
        n_evaluations: acquisition evaluations per ``propose`` in surrogate mode.
        batch_size: children bred per learner call in surrogate mode.
        acquisition, kappa, min_distance, seed: see :class:`ScoredPolicy`.
    """

    name = "evolution"
    requires_learner = False

    def __init__(
        self,
        *,
        population_size: int = 20,
        tournament_size: int = 5,
        n_evaluations: int = 20_000,
        batch_size: int = 20,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        if not 1 <= tournament_size <= population_size:
            raise ValueError(
                f"tournament_size must be in [1, population_size={population_size}], "
                f"got {tournament_size}"
            )
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.n_evaluations = n_evaluations
        self.batch_size = batch_size
        self.population_: ConfigMatrix | None = None
        self.fitness_: np.ndarray | None = None

    # ------------------------------------------------------------------ algorithm
    def _breed(
        self, space: SearchSpace, pop: ConfigMatrix, fit: np.ndarray, k: int
    ) -> ConfigMatrix:
        """``k`` children, each a mutation of the winner of a tournament."""
        rng = self._rng
        entrants = rng.integers(len(pop), size=(k, min(self.tournament_size, len(pop))))
        winners = entrants[np.arange(k), fit[entrants].argmax(axis=1)]
        return mutate(space, pop[winners], rng)

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        if problem.learner is None:
            return self._from_history(problem)
        space = problem.space
        pool = TopK(space, 10 * problem.n, problem.exclude)
        pop = sample_grid(space, self.population_size, problem.rng)
        fit = problem.score(pop)
        pool.add(pop, fit)
        while problem.n_evaluations < self.n_evaluations:
            b = min(self.batch_size, self.n_evaluations - problem.n_evaluations)
            kids = self._breed(space, pop, fit, b)
            kid_fit = problem.score(kids)
            pool.add(kids, kid_fit)
            pop = np.concatenate([pop[b:], kids])  # the oldest die
            fit = np.concatenate([fit[b:], kid_fit])
        return pool.M, pool.scores

    def _from_history(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        space = problem.space
        sign = check_direction(problem.direction)
        recent = list(problem.history)[-self.population_size :]
        if len(recent) < self.population_size:
            M = sample_grid(space, 4 * problem.n + len(problem.exclude), problem.rng)
            return M, problem.rng.random(len(M))
        pop = space.to_matrix([c for c, _ in recent])
        fit = sign * np.asarray([v for _, v in recent], dtype=np.float64)
        kids = self._breed(space, pop, fit, 4 * problem.n + len(problem.exclude))
        return kids, problem.rng.random(len(kids))

    # ------------------------------------------------------------------ ask / tell
    def ask(self, space: SearchSpace, n: int = 1) -> list[Config]:
        """``n`` configs to evaluate next: random until the population is full, then
        children of tournament winners."""
        pop = self.population_
        if pop is None or len(pop) < self.population_size:
            return space.to_configs(sample_grid(space, n, self._rng))
        return space.to_configs(self._breed(space, pop, self.fitness_, n))

    def tell(
        self,
        space: SearchSpace,
        configs: Sequence[Config],
        values: Sequence[float],
        direction: Direction = "minimize",
    ) -> None:
        """Add evaluated configs to the population; the oldest beyond its size die."""
        if len(configs) != len(values):
            raise ValueError(f"tell: {len(configs)} configs but {len(values)} values")
        sign = check_direction(direction)
        M = space.to_matrix(list(configs))
        f = sign * np.asarray(values, dtype=np.float64)
        if self.population_ is None:
            self.population_, self.fitness_ = M, f
        else:
            self.population_ = np.concatenate([self.population_, M])
            self.fitness_ = np.concatenate([self.fitness_, f])
        self.population_ = self.population_[-self.population_size :]
        self.fitness_ = self.fitness_[-self.population_size :]

    def reseed(self, seed: int | None) -> None:
        """Reset the random state and forget the ask/tell population."""
        super().reseed(seed)
        self.population_ = None
        self.fitness_ = None
