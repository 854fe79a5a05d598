"""Hill climbing on the meta-learner, and PPO polished by it: two policies written only
against metarl's public API and registered by name, as an outside user would write theirs.

    import agents  # registers "local_search" and "ppo_then_local"
    from metarl.agents import make_policy

    policy = make_policy("ppo_then_local", timesteps=20_000)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metarl import SearchSpace, Subset
from metarl.agents import Problem, ScoredPolicy, make_policy, register_policy, sample_grid
from metarl.type_aliases import AcquisitionKind


def neighbours(
    space: SearchSpace, M: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Every one-decision change of every row of ``M`` (vectorised per decision), and the
    row each came from.

    A change that activates a conditional parameter gives it a random grid value; a Subset
    change that would leave fewer than ``min_size`` items is dropped.
    """
    fresh = sample_grid(space, len(M), rng, conditioned=False)
    act = space.active_matrix(M)
    out, origin = [], []
    for d in space.decisions:
        live = act[:, d.index]
        for option in d.options:
            rows = live & (M[:, d.column] != option)
            if not rows.any():
                continue
            N = M[rows].copy()
            N[:, d.column] = option
            out.append(np.where(np.isnan(N), fresh[rows], N))
            origin.append(np.flatnonzero(rows))
    if not out:
        return np.empty((0, space.n_columns)), np.empty(0, dtype=np.int64)
    N = np.concatenate(out)
    act = space.active_matrix(N)
    keep = np.ones(len(N), dtype=bool)
    for i, (name, p) in enumerate(space.params.items()):
        sl = space.column_slices[name]
        N[~act[:, i], sl] = np.nan
        if isinstance(p, Subset):
            keep &= ~act[:, i] | (N[:, sl].sum(axis=1) >= p.min_size)
    return N[keep], np.concatenate(origin)[keep]


class LocalSearch(ScoredPolicy):
    """Best-improvement hill climbing on the acquisition, from several starting points.

    Starting points: the best ``n_starts`` of ``n_initial`` uniform grid samples, or the
    proposals of another policy (``start_policy``, e.g. ``"ppo"``). Every step scores all
    one-decision neighbours of every current point in one learner call and moves each point
    to its best neighbour while that improves; it stops at local optima or after
    ``max_steps``. Every scored config is a candidate; the base class ranks them by the same
    acquisition, drops duplicates and excluded configs, and keeps a diverse top n.

    Args:
        n_initial: uniform samples scored to choose the starting points.
        n_starts: points climbed in parallel.
        max_steps: climbing steps at most.
        start_policy: a registered policy name whose proposals are the starting points.
        start_kwargs: its keyword hyperparameters.
        acquisition, kappa, min_distance, seed: see ``ScoredPolicy``.
    """

    name = "local_search"

    def __init__(
        self,
        *,
        n_initial: int = 2048,
        n_starts: int = 16,
        max_steps: int = 50,
        start_policy: str | None = None,
        start_kwargs: dict[str, Any] | None = None,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        self.n_initial = n_initial
        self.n_starts = n_starts
        self.max_steps = max_steps
        self.start_policy = start_policy
        self.start_kwargs = start_kwargs
        self._start = (
            None
            if start_policy is None
            else make_policy(start_policy, **{"seed": seed, **(start_kwargs or {})})
        )

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        if getattr(self, "_start", None) is not None:
            self._start.reseed(seed)

    def _starting_points(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        space = problem.space
        if self._start is not None:
            configs = self._start.propose(
                space,
                problem.learner,
                self.n_starts,
                direction=problem.direction,
                exclude=problem.exclude_configs,
            )
            M = space.to_matrix(configs)
            return M, problem.score(M)
        M = sample_grid(space, self.n_initial, problem.rng)
        s = problem.score(M)
        best = np.argsort(-s)[: self.n_starts]
        return M[best], s[best]

    def _candidates(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        X, fx = self._starting_points(problem)
        seen, seen_scores = [X.copy()], [fx.copy()]
        for _ in range(self.max_steps):
            N, origin = neighbours(problem.space, X, problem.rng)
            if len(N) == 0:
                break
            fn = problem.score(N)
            seen.append(N)
            seen_scores.append(fn)
            # each point moves to its best neighbour
            best = np.full(len(X), -np.inf)
            np.maximum.at(best, origin, fn)
            arg = np.full(len(X), -1)
            hit = fn == best[origin]
            arg[origin[hit]] = np.flatnonzero(hit)
            move = best > fx
            if not move.any():
                break
            X[move], fx[move] = N[arg[move]], best[move]
        return np.concatenate(seen), np.concatenate(seen_scores)


class PPOThenLocal(LocalSearch):
    """PPO's proposals polished by hill climbing on the same acquisition.

    Args:
        ppo_kwargs: keyword hyperparameters of the ``"ppo"`` policy (e.g. ``timesteps``).
        n_starts, max_steps, acquisition, kappa, min_distance, seed: see ``LocalSearch``.
    """

    name = "ppo_then_local"

    def __init__(
        self,
        *,
        ppo_kwargs: dict[str, Any] | None = None,
        n_starts: int = 16,
        max_steps: int = 50,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        self.ppo_kwargs = ppo_kwargs
        super().__init__(
            n_starts=n_starts,
            max_steps=max_steps,
            start_policy="ppo",
            start_kwargs={"acquisition": acquisition, "kappa": kappa, **(ppo_kwargs or {})},
            acquisition=acquisition,
            kappa=kappa,
            min_distance=min_distance,
            seed=seed,
        )

    def save(self, path) -> None:
        """Save the PPO model (the climbing itself has no state)."""
        self._start.save(path)

    def load(self, path) -> PPOThenLocal:
        self._start.load(path)
        return self


register_policy("local_search", LocalSearch, overwrite=True)
register_policy("ppo_then_local", PPOThenLocal, overwrite=True)
