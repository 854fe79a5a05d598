"""Template for policies that score candidates and keep the best: the checks, exclusion,
ranking and diversity are written once here; a policy supplies only its candidates."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from metarl.agents._base import SearchPolicy
from metarl.agents._select import check_n, excluded_keys, select_top, warn_short
from metarl.learners._acquisition import (
    acquisition,
    check_acquisition,
    check_direction,
    check_learner,
    posterior_incumbent,
)
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Config, ConfigMatrix, Direction

#: Spaces up to this many configs are enumerated to top up a short list of proposals.
_TOP_UP_LIMIT = 10**6

#: How many times :meth:`ScoredPolicy._off_grid` may halve the spacing of the continuous
#: parameters' grid (a Float's 16 bins become up to 15 * 2**20 + 1) ...
_MAX_FINER = 20

#: ... while the finer grid holds at most this many configs (all of them scored).
_OFF_GRID_ENUMERATE = 1 << 16

#: Configs sampled uniformly by :meth:`ScoredPolicy._off_grid` beyond that.
_OFF_GRID_SAMPLES = 1 << 14


@dataclass
class Problem:
    """One call of ``propose``: what a policy's candidate generator needs.

    ``score`` is the acquisition of value-matrix rows (higher is better, see
    :func:`metarl.learners.acquisition`, with this problem's ``acquisition`` and ``kappa``);
    it counts the learner evaluations in ``n_evaluations`` (the benchmarks plot acquisition
    against it). For ``"ei"`` the incumbent is :attr:`incumbent`, from ``history``.
    """

    space: SearchSpace
    learner: MetaLearner | None
    n: int
    direction: Direction
    exclude: set[bytes]
    history: Sequence[tuple[Config, float]]
    rng: np.random.Generator
    acquisition: AcquisitionKind = "mean"
    kappa: float = 1.0
    exclude_configs: Sequence[Config] = ()
    n_evaluations: int = field(default=0)
    _incumbent: float | None = field(default=None, init=False, repr=False)

    @property
    def incumbent(self) -> float | None:
        """What ``"ei"`` improves on: the best posterior mean among the ``history``'s
        configs (:func:`~metarl.learners.posterior_incumbent`, on the
        acquisition's scale), computed once; None for another acquisition or no learner.

        Raises:
            ValueError: ``"ei"`` with a learner and an empty ``history``.
        """
        if self.acquisition != "ei" or self.learner is None:
            return None
        if self._incumbent is None:
            if not len(self.history):
                raise ValueError(
                    "acquisition 'ei' needs evaluated configs (propose's history=) to set "
                    "its incumbent; got none"
                )
            X = self.space.encode([config for config, _ in self.history])
            self._incumbent = posterior_incumbent(self.learner, X, self.direction)
        return self._incumbent

    def score(self, M: ConfigMatrix) -> np.ndarray:
        """Acquisition of each row of ``M``; zeros for a model-free policy."""
        if self.learner is None:
            return np.zeros(len(M))
        return self.score_encoded(self.space.encode_matrix(M))

    def score_encoded(self, X: np.ndarray) -> np.ndarray:
        """Acquisition of encoded configs ``X`` (counted in ``n_evaluations``)."""
        if self.learner is None:
            return np.zeros(len(X))
        incumbent = self.incumbent
        self.n_evaluations += len(X)
        return acquisition(
            self.learner, X, self.acquisition, self.kappa, self.direction, incumbent=incumbent
        )


class ScoredPolicy(SearchPolicy):
    """A policy that generates scored candidates; the base picks the proposals.

    Args:
        acquisition: ``"mean"``, ``"ucb"``, ``"lcb"`` or ``"ei"`` (log expected improvement
            over the best posterior mean among the evaluated configs of ``propose``'s
            ``history``): what ranks the candidates (see :func:`metarl.learners.acquisition`).
        kappa: weight of the predictive std in ``ucb``/``lcb`` (unused by ``ei``).
        min_distance: proposals of one batch preferably differ pairwise in at least this
            many value columns (1 = just distinct); see :func:`select_top`.
        seed: seed of the policy's random state (see :meth:`reseed`).
    """

    #: Short name used in warnings and the registry.
    name: str = "policy"

    def __init__(
        self,
        *,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        check_acquisition(acquisition, kappa)
        self.acquisition = acquisition
        self.kappa = kappa
        self.min_distance = min_distance
        self.seed = seed
        self.last_problem_: Problem | None = None
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Reset the random state: the same seed gives the same proposals."""
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def propose(
        self,
        space: SearchSpace,
        learner: MetaLearner | None,
        n: int,
        *,
        direction: Direction = "minimize",
        exclude: Sequence[Config] = (),
        history: Sequence[tuple[Config, float]] = (),
    ) -> list[Config]:
        """See :meth:`SearchPolicy.propose`."""
        n = check_n(n)
        check_direction(direction)
        if self.requires_learner or learner is not None:
            check_learner(space, learner)
        problem = Problem(
            space,
            learner,
            n,
            direction,
            excluded_keys(space, exclude),
            history,
            self._rng,
            acquisition=self.acquisition,
            kappa=self.kappa,
            exclude_configs=list(exclude),
        )
        self.last_problem_ = problem
        M, scores = self._candidates(problem)
        M, scores = select_top(
            space, M, scores, n, exclude=problem.exclude, min_distance=self.min_distance
        )
        if len(M) < n and space.cardinality <= _TOP_UP_LIMIT:
            M, scores = self._top_up(problem, M, scores)
        if len(M) < n:
            M, scores = self._off_grid(problem, M, scores)
        warn_short(len(M), n, self.name)
        return space.to_configs(M)

    @abstractmethod
    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        """Candidate value-matrix rows and their scores (duplicates and excluded are fine)."""

    def _top_up(
        self, problem: Problem, M: ConfigMatrix, scores: np.ndarray
    ) -> tuple[ConfigMatrix, np.ndarray]:
        """Fill a short list from the enumerated rest of a small space."""
        taken = problem.exclude | set(problem.space.keys(M))
        R = np.concatenate(list(problem.space.enumerate(max_configs=_TOP_UP_LIMIT)))
        extra, extra_scores = select_top(
            problem.space, R, problem.score(R), problem.n - len(M), exclude=taken
        )
        return np.concatenate([M, extra]), np.concatenate([scores, extra_scores])

    def _off_grid(
        self, problem: Problem, M: ConfigMatrix, scores: np.ndarray
    ) -> tuple[ConfigMatrix, np.ndarray]:
        """Fill a short list with configs off the design grid.

        Every config of the design grid is taken (tried, pending or proposed) but a Float,
        or an Integer with more values than its bins, has values between its grid's: the
        rest is the best unexplored configs by this policy's acquisition on the finest
        :meth:`~metarl.space.SearchSpace.finer` grid of at most ``_OFF_GRID_ENUMERATE``
        configs (all of it scored), else on a uniform sample of the space, spread: each
        pair of them at least half a grid step apart in some feature where the candidates
        allow (:func:`_spread_top`). Nothing when no parameter has values off the grid: a
        finite space is exhausted.
        """
        space = problem.space
        if space.finer(1) is None:
            return M, scores
        finest, saturated = None, False
        for times in range(1, _MAX_FINER + 1):
            fine = space.finer(times)
            if fine is None or fine.cardinality > _OFF_GRID_ENUMERATE:
                break
            if finest is not None and fine.cardinality == finest.cardinality:
                saturated = True  # every value of every parameter: nothing finer
                break
            finest = fine
        sources = []
        if finest is not None:
            sources.append(lambda: np.concatenate(list(finest.enumerate())))
        if not saturated:
            sources.append(lambda: space.sample_matrix(_OFF_GRID_SAMPLES, problem.rng))
        for draw in sources:
            R = draw()
            taken = problem.exclude | set(space.keys(M))
            extra, extra_scores = _spread_top(
                space, R, problem.score(R), problem.n - len(M), taken, _half_step(space)
            )
            M, scores = np.concatenate([M, extra]), np.concatenate([scores, extra_scores])
            if len(M) >= problem.n:
                break
        return M, scores


def _half_step(space: SearchSpace) -> float:
    """Half the smallest spacing, on the encoded [0, 1] scale, of the design grid of the
    parameters that :meth:`~metarl.space.SearchSpace.finer` refines."""
    fine = space.finer(1)
    steps = [
        0.5 / (len(p.grid()) - 1)
        for name, p in space.params.items()
        if fine is not None and len(fine.params[name].grid()) > len(p.grid()) > 1
    ]
    return min(steps, default=0.0)


def _spread_top(
    space: SearchSpace,
    R: ConfigMatrix,
    scores: np.ndarray,
    k: int,
    exclude: set[bytes],
    delta: float,
) -> tuple[ConfigMatrix, np.ndarray]:
    """The best ``k`` distinct rows of ``R`` outside ``exclude``, greedily each at least
    ``delta`` (Chebyshev, on the encoded features) from those taken before it; the rest, if
    that leaves fewer than ``k``, by score."""
    R, scores = select_top(space, R, scores, len(R), exclude=exclude)  # distinct, best first
    if len(R) <= 1 or delta <= 0.0:
        return R[:k], scores[:k]
    X = space.encode_matrix(R).astype(np.float64)
    free = np.ones(len(R), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < k and free.any():
        i = int(np.argmax(free))  # rows are sorted: the first free one is the best
        chosen.append(i)
        free &= np.abs(X - X[i]).max(axis=1) >= delta
    if len(chosen) < k:
        rest = np.setdiff1d(np.arange(len(R)), chosen)[: k - len(chosen)]
        chosen = sorted(chosen + rest.tolist(), key=lambda j: -scores[j])
    idx = np.asarray(chosen, dtype=np.int64)
    return R[idx], scores[idx]
