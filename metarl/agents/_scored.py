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
