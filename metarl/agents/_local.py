"""Local search with restarts on the meta-learner's acquisition: best-improvement hill
climbing over one-decision changes, from the best of a uniform sample of the design grid.

On large spaces (2^48 - 2^73 configs, docs/RESULTS.md) it reaches the best acquisition any
optimizer found within about one CPU second, ahead of PPO at equal learner evaluations and
at equal time; ``"auto"`` uses it beyond the enumerable size.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np

from metarl.agents._base import SearchPolicy
from metarl.agents._sampling import sample_grid, settle
from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._threads import torch_threads
from metarl.agents._trust import (
    Region,
    TrustRegion,
    best_rows,
    family_param,
    region_of,
    sample_around,
)
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, ConfigMatrix


def neighbours(
    space: SearchSpace, M: ConfigMatrix, rng: np.random.Generator
) -> tuple[ConfigMatrix, np.ndarray]:
    """Every one-decision change of every row of ``M``, and the row each came from.

    A decision is one column of the design grid (``space.decisions``: in a restricted
    space, only the options of the focus). A change that activates a conditional parameter
    gives it a random grid value (of the focus); one that deactivates a parameter sets it
    to NaN; a Subset change that would leave fewer than ``min_size`` items is dropped.
    Vectorised over rows: one numpy pass per (decision, option).

    Args:
        space: the space of the rows.
        M: value matrix of configs on the design grid.
        rng: draws the values of newly active parameters.

    Returns:
        ``(N, origin)``: the neighbours' value matrix and, for each, its row of ``M``.
    """
    M = np.asarray(M, dtype=np.float64)
    fresh = sample_grid(space, len(M), rng, conditioned=False)
    act = space.active_matrix(M)
    out, origin = [], []
    for d in space.decisions:
        live = act[:, d.index]
        for option in d.options:
            rows = live & (M[:, d.column] != option)
            if not rows.any():
                continue
            N = M[rows]
            N[:, d.column] = option
            out.append(np.where(np.isnan(N), fresh[rows], N))
            origin.append(np.flatnonzero(rows))
    if not out:
        return np.empty((0, space.n_columns)), np.empty(0, dtype=np.int64)
    N = np.concatenate(out)
    keep = settle(space, N)
    return N[keep], np.concatenate(origin)[keep]


def _model_free(name: str) -> SearchPolicy:
    """The registered policy ``name``, refused unless it proposes without a learner."""
    from metarl.agents._registry import make_policy

    policy = make_policy(name)
    if policy.requires_learner:
        raise ValueError(
            f"local_search: hedge must be a model-free policy (e.g. 'tpe'), got {name!r}"
        )
    return policy


def _hedged(policy: SearchPolicy, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
    """A model-free ``policy``'s proposals for this round, in its order (seeded from the
    round's random state)."""
    policy.reseed(int(problem.rng.integers(2**31)))
    configs = policy.propose(
        problem.space,
        None,
        problem.n,
        direction=problem.direction,
        exclude=problem.exclude_configs,
        history=problem.history,
    )
    M = problem.space.to_matrix(configs) if configs else np.empty((0, problem.space.n_columns))
    return M, -np.arange(len(M), dtype=np.float64)


def _whole(value: object, name: str, low: int) -> int:
    """``value`` as an int, refused (one line naming ``name``) unless an int >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"local_search: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _first_of_each(keys: list[bytes]) -> np.ndarray:
    """(len(keys),) bool: True at the first occurrence of each key."""
    first: dict[bytes, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    out = np.zeros(len(keys), dtype=bool)
    out[list(first.values())] = True
    return out


class LocalSearch(ScoredPolicy):
    """Best-improvement hill climbing on the acquisition, from several starting points.

    Starting points: the best ``n_starts`` of ``n_initial`` configs drawn uniformly on the
    design grid, plus the ``n_history_starts`` best evaluated configs (as SMAC's local search
    starts from its incumbents; override :meth:`_starting_points` to start elsewhere, e.g.
    from another policy's proposals). Every step scores all one-decision neighbours
    (:func:`neighbours`) of every current point in one learner call and moves each point to
    its best neighbour while that improves; it stops when every point is at a local optimum or after
    ``max_steps``. Every config scored is a candidate: the base ranks them by the same
    acquisition, drops duplicates and excluded configs and keeps a diverse top ``n``. Each
    ``propose`` is one restart: the refinement loop reseeds the policy every round.

    Args:
        n_initial: uniform samples scored to choose the starting points.
        n_starts: uniform points climbed in parallel.
        n_history_starts: the best evaluated configs (by observed value) climbed too
            (0: none; those outside the space searched, e.g. outside a focus, are skipped).
        max_steps: climbing steps at most.
        n_threads: torch CPU threads while a learner that predicts in torch (GP, MLP)
            scores (restored afterwards; ``None`` leaves the setting alone). One is
            fastest for the batches of ~2,000 configs scored here: on a GP fitted on 40
            points, one round cost 0.4 CPU s on one thread and 2.4 on two threads of a
            loaded 2-core machine.
        trust_region: search only near the best evaluated config (:mod:`metarl.agents.
            _trust`): ``True`` for the default :class:`TrustRegion`, a ``TrustRegion`` (or a
            dict of its settings, e.g. from YAML) for others, ``False`` for the whole space.
            The starting points are then drawn around the incumbent, its one-decision
            changes in the region are candidates, and the climb stays within the round's
            radius; a batch the region cannot fill is completed from the whole space,
            ranked after the region's configs (as is a short list on a space of at most
            10**6 configs). ``"auto"`` turns it on beyond 10**6 configs.
        hedge: a registered model-free policy name (e.g. ``"tpe"``: Optuna's TPE over the
            same history) that proposes instead of the climb every ``hedge_every``-th
            round. Rounds are counted from the history and the batch size ``n`` asked (so a
            resumed run replays them): round ``w + (len(history) - w) // n``, where ``w`` is
            the trust region's ``warmup`` (10 by default); the hedge's rounds are those
            where that is ``hedge_every - 1`` modulo ``hedge_every``. With one config a
            round (``MetaRLSampler``) they are the rounds after ``hedge_every - 1``,
            ``2 * hedge_every - 1``, ... results; with a batch of ``n`` every
            ``hedge_every``-th batch. ``None``: never.
        hedge_every: an int >= 2 (default 2: every other round); only with ``hedge``.
        hedge_after: ``0`` (default): the schedule above. ``N >= 1``: the hedge proposes
            only while the search is stalled, ``N`` or more results (past the trust
            region's ``warmup``, i.e. model-based ones) since the last that improved the
            best (:meth:`TrustRegion.stalled`, from the history, so a resumed run replays
            it): the first round asked with ``N`` or more such results and every
            ``hedge_every``-th round after it (``(stalled - N) // n`` rounds counted with a
            batch of ``n``); an improvement returns every round to the climb. Only with
            ``hedge``.
        acquisition, kappa, min_distance, seed: see :class:`ScoredPolicy`.
    """

    name = "local_search"

    def __init__(
        self,
        *,
        n_initial: int = 2048,
        n_starts: int = 16,
        n_history_starts: int = 0,
        max_steps: int = 50,
        n_threads: int | None = 1,
        trust_region: TrustRegion | Mapping[str, float] | bool = False,
        hedge: str | None = None,
        hedge_every: int | None = None,
        hedge_after: int | None = None,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        if n_initial < 1 or n_starts < 1 or max_steps < 0 or n_history_starts < 0:
            raise ValueError(
                "local_search: n_initial and n_starts must be >= 1, max_steps and "
                f"n_history_starts >= 0, got {n_initial}, {n_starts}, {max_steps} and "
                f"{n_history_starts}"
            )
        if hedge is None and (hedge_every is not None or hedge_after is not None):
            raise ValueError(
                "local_search: hedge_every and hedge_after need hedge (e.g. hedge='tpe'), "
                "got hedge=None"
            )
        hedge_every = 2 if hedge_every is None else _whole(hedge_every, "hedge_every", 2)
        hedge_after = 0 if hedge_after is None else _whole(hedge_after, "hedge_after", 0)
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        self.n_initial = n_initial
        self.n_starts = n_starts
        self.n_history_starts = n_history_starts
        self.max_steps = max_steps
        self.n_threads = n_threads
        if isinstance(trust_region, Mapping):  # e.g. from YAML: {init: 0.1}
            trust_region = TrustRegion(**trust_region)
        if not isinstance(trust_region, (bool, TrustRegion)):
            raise TypeError(
                "local_search: trust_region must be True, False, a TrustRegion or a dict of "
                f"its settings, got {trust_region!r}"
            )
        self.trust_region = TrustRegion() if trust_region is True else trust_region
        self.hedge, self.hedge_every, self.hedge_after = hedge, hedge_every, hedge_after
        self._hedge_policy = None if hedge is None else _model_free(hedge)
        self._round_region: Region | None = None  # the region of the round in progress
        self._warned_family = False

    def _starting_points(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        """The points to climb from and their acquisition: the best of a uniform sample
        (or, in a trust region, of a sample around its centre, with the centre)."""
        region = self._round_region
        if region is None:
            M = sample_grid(problem.space, self.n_initial, problem.rng)
            s = problem.score(M)
        else:
            M = sample_around(
                problem.space, region.centre, self.n_initial, int(region.radius), problem.rng
            )
            M = np.concatenate([region.centre, M])
            X = problem.space.encode_matrix(M)
            inside = region.inside(X)
            inside[inside] = _first_of_each(problem.space.keys(M[inside]))  # distinct starts
            M, s = M[inside], problem.score_encoded(X[inside])
        best = np.argsort(-s, kind="stable")[: self.n_starts]
        M, s = M[best], s[best]
        elite = self._best_evaluated(problem)
        if len(elite):
            M, s = np.concatenate([M, elite]), np.concatenate([s, problem.score(elite)])
        return M, s

    def _best_evaluated(self, problem: Problem) -> ConfigMatrix:
        """The ``n_history_starts`` best evaluated configs inside the space searched."""
        if not self.n_history_starts:
            return np.empty((0, problem.space.n_columns))
        return best_rows(problem.space, problem.history, problem.direction, self.n_history_starts)

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        self._round_region = None
        self._check_family(problem.space)
        hedge = self._hedge_policy
        if hedge is not None and self._hedge_round(problem):
            return _hedged(hedge, problem)
        if self.trust_region:
            self._round_region = region_of(
                problem.space,
                problem.history,
                problem.direction,
                self.trust_region,
                batch=problem.n,
                learner=problem.learner,
            )
        with torch_threads(self.n_threads):
            M, scores = self._climb(problem)
            region = self._round_region
            if region is None:
                return M, scores
            # every one-decision change of the centre inside the region is a candidate too
            # (a small region may hold little more than those)
            N, _ = neighbours(problem.space, region.centre, problem.rng)
            E = problem.space.encode_matrix(N)
            inside = region.inside(E)
            if inside.any():
                M = np.concatenate([M, N[inside]])
                scores = np.concatenate([scores, problem.score_encoded(E[inside])])
            if len(set(problem.space.keys(M)) - problem.exclude) >= problem.n:
                return M, scores
            # fewer unexplored configs in the region than asked (e.g. a radius under one
            # decision where no parameter is ordered): the rest from the whole space, ranked
            # after the region's
            self._round_region = None
            G, g = self._climb(problem)
            g = g - (g.max() - scores.min()) - 1.0
            return np.concatenate([M, G]), np.concatenate([scores, g])

    def _check_family(self, space: SearchSpace) -> None:
        """Warn once where ``family_after`` is set but ``space`` has no family parameter.

        A warning, not an error: the rotation is then a no-op (the documented behaviour),
        and the benchmark variant ``fam<N>`` runs on such a space (mlp, docs/RESULTS.md). A
        RuntimeWarning: the loop silences the policies' UserWarnings ("fewer than n")."""
        region = self.trust_region
        if self._warned_family or not region or not region.family_after:
            return
        if family_param(space) is None:
            self._warned_family = True
            warnings.warn(
                f"local_search: trust_region family_after={region.family_after} does "
                "nothing on this space: no unconditional unordered Categorical that other "
                "parameters depend on (active_if), i.e. no family parameter to rotate over",
                RuntimeWarning,
                stacklevel=4,
            )

    def _hedge_round(self, problem: Problem) -> bool:
        """Whether the hedge proposes this round (``hedge``, ``hedge_every`` and
        ``hedge_after``), counting rounds of ``problem.n`` results (see the class
        docstring; with one result a round, rounds and results coincide)."""
        k, n = self.hedge_every, problem.n
        region = self.trust_region or TrustRegion()
        if not self.hedge_after:
            w = region.warmup
            return (w + (len(problem.history) - w) // n) % k == k - 1
        stalled = region.stalled([v for _, v in problem.history], problem.direction)
        return stalled >= self.hedge_after and ((stalled - self.hedge_after) // n) % k == 0

    def _climb(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        region = self._round_region
        X, fx = self._starting_points(problem)
        X, fx = np.array(X, dtype=np.float64), np.array(fx, dtype=np.float64)
        seen, seen_scores = [X.copy()], [fx.copy()]
        for _ in range(self.max_steps):
            N, origin = neighbours(problem.space, X, problem.rng)
            if region is not None:
                E = problem.space.encode_matrix(N)
                inside = region.inside(E)
                N, origin, E = N[inside], origin[inside], E[inside]
            if len(N) == 0:
                break
            fn = problem.score(N) if region is None else problem.score_encoded(E)
            seen.append(N)
            seen_scores.append(fn)
            # each point moves to its best neighbour (the last one among ties)
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
