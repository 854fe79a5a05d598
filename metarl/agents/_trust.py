"""A trust region around the incumbent for acquisition optimizers on large spaces.

Maximised over 60-100 dimensions with a few dozen results, an optimistic acquisition (UCB)
lands on the variance maxima at the corners of the space: far from every evaluated config,
at the extreme bins of every ordered parameter (docs/RESULTS.md, issue 11, real training).
Trust-region Bayesian optimisation (TuRBO, Eriksson et al. 2019; CASMOPOLITAN, Wan et al.
2021 for categorical and mixed spaces) keeps the search within a distance of the best
evaluated config and adapts that distance to the search's successes and failures.

Here the distance is the L1 distance of the meta-learner's encoding with each one-hot block
halved: a categorical or boolean switch, a Subset item in or out and an ordered parameter
moved from one end of its range to the other count 1, an ordered parameter moved by k of its
n bins k/(n-1); a switch that activates or deactivates a conditional parameter also counts
its presence (1) and its values (up to 1 for one value, one per item for a Subset), so the
default radii (several decisions) let a parent switch with its children.

The radius follows the results in the order they were evaluated (stateless: a resumed or
replayed run gets the same radius from the same history): it doubles after ``succ_tol``
improvements of the best value in a row, halves after ``fail_tol`` results in a row that do
not improve it, and when it falls below ``min_radius`` the next round searches the whole
space and the radius starts again at ``init`` (TuRBO's restart, keeping the data).

TuRBO's schedule was built for budgets of thousands; within a few dozen results a search
can sit on one model family for good (docs/RESULTS.md: 32 of 40 proposals logistic
regression around a logistic-regression incumbent). With ``family_after`` the region
rotates over the values of the space's family parameter (:func:`family_param`) once that
many results in a row failed to improve the best: each round is centred on one family's
best config and keeps that family.

Real training is noisy (a CV score drawn with a fresh fold split per call): the best
*observed* value is often a lucky draw, the top few evaluated configs differ by less than
the noise, and the best observed one stays the centre until a luckier draw (docs/RESULTS.md).
With ``centre="mean"`` the region is centred instead on the evaluated config with the best
posterior mean of the round's fitted learner (the noise-aware incumbent of
:func:`metarl.loop.recommend`), among all evaluated configs or, with ``centre_top=k``, among
the ``k`` best observed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from metarl.agents._sampling import sample_grid, settle
from metarl.space import Categorical, SearchSpace, SpaceError
from metarl.type_aliases import Config, ConfigMatrix, Direction


def decision_weights(space: SearchSpace) -> np.ndarray:
    """Weight of each encoded column in :func:`encoded_distance` (0.5 in a one-hot block)."""
    w = np.ones(space.encoded_width, dtype=np.float32)
    for name, p in space.params.items():
        if isinstance(p, Categorical) and not p.ordered:
            fs = space.feature_slices[name]
            start = fs.start + (1 if p.active_if else 0)  # the presence flag counts 1
            w[start : fs.stop] = 0.5
    for name in space.context:
        w[space.feature_slices[name]] = 0.0
    return w


def encoded_distance(X: np.ndarray, centre: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n,) weighted L1 distance of encoded rows ``X`` to one encoded ``centre``."""
    return np.abs(X - centre[None, :]) @ weights


@dataclass(frozen=True)
class TrustRegion:
    """Settings of the trust region (radii in decision changes, see the module docstring).

    The defaults were chosen on two real-training tasks (a feature-selection task and a
    per-layer torch MLP) and checked on two others (digits, breast_cancer; docs/RESULTS.md).

    Args:
        init: initial radius as a fraction of the number of decisions (at least 1 change).
        fail_tol: results in a row without an improvement that halve the radius.
        succ_tol: improvements in a row that double it (up to every decision).
        min_radius: below it, one round searches the whole space and the radius restarts.
        warmup: the first results only set the incumbent (the initial random design:
            10 in ``MetaRLSampler`` and ``Study`` by default; a random config rarely
            improves on the best so far, which would shrink the region before it was used).
        recentre: after a restart, centre the region on the best result since then
            rather than on the best of all (see :meth:`state`).
        family_after: after this many results in a row past ``warmup`` that do not
            improve the best (0: never), the rounds cycle over the values of the family
            parameter (:func:`family_param`) evaluated so far, best family first, each
            round centred on that family's best config with the family held fixed, until
            a result improves the best; one family a round whatever the batch size (see
            :func:`region_of`). An int; on a space without a family parameter it does
            nothing (``LocalSearch`` warns).
        centre: ``"best"`` (default): the region is centred on the evaluated config with the
            best observed value; ``"mean"``: on the one with the best posterior mean of the
            round's fitted learner (noise-aware; without a learner, the best observed). The
            radius schedule counts improvements of the best observed value either way.
        centre_top: with ``centre="mean"``, choose among the ``centre_top`` best observed
            configs only (0: among all evaluated configs).
    """

    init: float = 0.5
    fail_tol: int = 5
    succ_tol: int = 3
    min_radius: float = 0.5
    warmup: int = 10
    recentre: bool = False
    family_after: int = 0
    centre: str = "best"
    centre_top: int = 0

    def __post_init__(self) -> None:
        if self.centre not in ("best", "mean"):
            raise ValueError(f"trust region: centre must be 'best' or 'mean', got {self.centre!r}")
        k = self.centre_top
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 0:
            raise ValueError(f"trust region: centre_top must be an int >= 0, got {k!r}")
        if not 0 < self.init <= 1 or self.fail_tol < 1 or self.succ_tol < 1 or self.warmup < 0:
            raise ValueError(
                "trust region: init must be in (0, 1], fail_tol and succ_tol >= 1 and warmup "
                f">= 0, got {self.init}, {self.fail_tol}, {self.succ_tol} and {self.warmup}"
            )
        f = self.family_after
        if isinstance(f, bool) or not isinstance(f, Integral) or f < 0:
            raise ValueError(f"trust region: family_after must be an int >= 0, got {f!r}")
        if self.min_radius <= 0:
            raise ValueError(f"trust region: min_radius must be > 0, got {self.min_radius}")

    def radius(self, values: Sequence[float], direction: Direction, n_decisions: int) -> float:
        """The radius after ``values`` (in evaluation order; NaN = failed, skipped), or
        ``inf`` for a round that searches the whole space (no result yet, or a restart).
        Results past ``warmup`` that beat the best so far are successes, others failures."""
        return self.state(values, direction, n_decisions)[0]

    def state(
        self, values: Sequence[float], direction: Direction, n_decisions: int
    ) -> tuple[float, int]:
        """``(radius, start)``: :meth:`radius`, and the position in ``values`` where the
        current region began: 0, or with ``recentre`` the result after the last restart
        (the region is centred on the best result from there on, and only those count
        as successes: TuRBO's restart, which keeps the data for the model)."""
        top = float(max(n_decisions, 1))
        init = max(1.0, self.init * top)
        sign = -1.0 if direction == "minimize" else 1.0
        pos = [i for i, v in enumerate(values) if np.isfinite(v)]
        y = sign * np.asarray([values[i] for i in pos], dtype=np.float64)
        if len(y) == 0:
            return float("inf"), 0
        k = max(1, self.warmup)
        best, rad, succ, fail, restart, start = y[:k].max(), init, 0, 0, False, 0
        for j in range(k, len(y)):
            v = y[j]
            if restart and self.recentre:  # the first result of a new region
                best, start, restart = v, pos[j], False
                continue
            restart = False
            if v > best:
                best, succ, fail = v, succ + 1, 0
            else:
                succ, fail = 0, fail + 1
            if succ == self.succ_tol:
                rad, succ = min(2.0 * rad, top), 0
            if fail == self.fail_tol:
                rad, fail = rad / 2.0, 0
                if rad < self.min_radius:
                    rad, restart = init, True
        return (float("inf") if restart else rad), start

    def stalled(self, values: Sequence[float], direction: Direction) -> int:
        """Results (finite, past ``warmup``) since the last one that improved the best."""
        sign = -1.0 if direction == "minimize" else 1.0
        y = sign * np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
        if len(y) == 0:
            return 0
        last = int(np.argmax(y))  # the first occurrence of the best: when it was reached
        return len(y) - max(last + 1, self.warmup, 1)


def family_param(space: SearchSpace) -> str | None:
    """The space's family parameter: the unconditional unordered Categorical that most
    parameters depend on (e.g. a model family with its own hyperparameters); None if no
    parameter depends on one."""
    counts = {
        name: sum(name in q.active_if for q in space.params.values())
        for name, p in space.params.items()
        if isinstance(p, Categorical)
        and not p.ordered
        and not p.active_if
        and name not in space.context
    }
    best = max(counts, key=lambda k: counts[k], default=None)
    return best if best is not None and counts[best] > 0 else None


def best_rows(
    space: SearchSpace, history: Sequence[tuple[Config, float]], direction: Direction, k: int
) -> ConfigMatrix:
    """The value rows of the ``k`` best evaluated configs inside ``space``, best first
    (failed ones, NaN, never; those outside a focus or of another space skipped), at full
    fidelity where the space has a :class:`~metarl.space.Fidelity` (the design's level: the
    loop, not the policy, chooses each proposal's fidelity)."""
    rows = [(c, v) for c, v in history if np.isfinite(v)]
    sign = -1.0 if direction == "minimize" else 1.0
    kept: list[ConfigMatrix] = []
    for i in np.argsort([-sign * v for _, v in rows], kind="stable"):
        if len(kept) == k:
            break
        try:
            row = space.to_matrix([rows[i][0]])
        except SpaceError:  # outside a focus, or of another space
            continue
        if space.contains_matrix(row)[0]:
            kept.append(row)
    if not kept:
        return np.empty((0, space.n_columns))
    M = np.concatenate(kept)
    return space.at_full_fidelity(M) if space.fidelity_names else M


def incumbent_row(
    space: SearchSpace, history: Sequence[tuple[Config, float]], direction: Direction
) -> ConfigMatrix | None:
    """The value row (1, n_columns) of the best evaluated config inside ``space``, or None."""
    row = best_rows(space, history, direction, 1)
    return row if len(row) else None


def sample_around(
    space: SearchSpace, centre: ConfigMatrix, n: int, max_changes: int, rng: np.random.Generator
) -> ConfigMatrix:
    """``n`` configs that each change between 1 and ``max_changes`` of the active decisions
    of the value row ``centre`` to another of their options (newly active parameters get
    uniform grid values; rows the space refuses, e.g. a Subset below its ``min_size``, are
    dropped)."""
    live = space.active_matrix(centre)[0]
    decisions = [d for d in space.decisions if live[d.index] and len(d.options) > 1]
    k = rng.integers(1, max(1, max_changes) + 1, size=n)
    ranks = np.argsort(rng.random((n, len(decisions))), axis=1).argsort(axis=1)
    change = ranks < k[:, None]
    M = np.repeat(np.asarray(centre, dtype=np.float64), n, axis=0)
    fresh = sample_grid(space, n, rng, conditioned=False)
    for j, d in enumerate(decisions):
        rows = change[:, j]
        if not rows.any():
            continue
        # another option than the centre's: draw among the others (the centre's skipped)
        here = np.flatnonzero(np.isclose(d.options, centre[0, d.column]))
        draw = rng.integers(len(d.options) - (1 if len(here) else 0), size=int(rows.sum()))
        if len(here):
            draw += draw >= here[0]
        M[rows, d.column] = d.options[draw]
    M = np.where(np.isnan(M), fresh, M)
    return M[settle(space, M)]


class Region:
    """A trust region of one round: the configs within ``radius`` of ``centre`` (a value
    row (1, n_columns)) in :func:`encoded_distance`, and with ``keep`` (a parameter's name)
    only those that share the centre's value of it."""

    def __init__(
        self, space: SearchSpace, centre: ConfigMatrix, radius: float, keep: str | None = None
    ) -> None:
        self.space, self.centre, self.radius, self.keep = space, centre, radius, keep
        self._weights = decision_weights(space)
        self._centre_x = space.encode_matrix(centre)[0]

    def inside(self, X: np.ndarray) -> np.ndarray:
        """(n,) bool: which encoded rows lie in the region."""
        ok = encoded_distance(X, self._centre_x, self._weights) <= self.radius + 1e-6
        if self.keep is not None:
            fs = self.space.feature_slices[self.keep]
            ok &= (X[:, fs] == self._centre_x[None, fs]).all(axis=1)
        return ok


def region_of(
    space: SearchSpace,
    history: Sequence[tuple[Config, float]],
    direction: Direction,
    settings: TrustRegion,
    *,
    batch: int = 1,
    learner: object = None,
) -> Region | None:
    """This round's trust region, or None where the round searches the whole space (no
    result inside ``space`` yet, or a restart). ``batch``: the configs proposed a round;
    the family rotation (``family_after``) moves to the next family every round, i.e.
    every ``batch`` results without a gain. ``learner``: the round's fitted learner, used
    by ``centre="mean"`` (:func:`mean_centre_row`)."""
    values = [v for _, v in history]
    radius, start = settings.state(values, direction, len(space.decisions))
    if not np.isfinite(radius):
        return None
    stalled = settings.stalled(values, direction) if settings.family_after else 0
    if stalled >= settings.family_after > 0 and (family := family_param(space)) is not None:
        turn = (stalled - settings.family_after) // max(int(batch), 1)
        region = _family_region(space, history, direction, radius, family, turn)
        if region is not None:
            return region

    def pick(rows: Sequence[tuple[Config, float]]) -> ConfigMatrix | None:
        if settings.centre == "mean" and learner is not None:
            return mean_centre_row(space, rows, direction, learner, settings.centre_top)
        return incumbent_row(space, rows, direction)

    centre = pick(history[start:])
    if centre is None:
        centre = pick(history)
    return None if centre is None else Region(space, centre, radius)


def mean_centre_row(
    space: SearchSpace,
    history: Sequence[tuple[Config, float]],
    direction: Direction,
    learner: object,
    top: int = 0,
) -> ConfigMatrix | None:
    """The value row (1, n_columns) of the evaluated config inside ``space`` with the best
    posterior mean under the fitted ``learner`` (:func:`metarl.loop._incumbent.
    best_predicted`), among the ``top`` best observed (0: all); ties go to the better
    observed one. None without an evaluated config inside ``space``."""
    from metarl.loop._incumbent import best_predicted

    n = sum(1 for _, v in history if np.isfinite(v))
    M = best_rows(space, history, direction, min(top, n) if top else n)
    if not len(M):
        return None
    return M[[best_predicted(space, M, learner, direction)]]


def _family_region(
    space: SearchSpace,
    history: Sequence[tuple[Config, float]],
    direction: Direction,
    radius: float,
    family: str,
    turn: int,
) -> Region | None:
    """The region of the ``turn``-th stalled round (0, 1, ...): centred on the best config
    of one family, that family held fixed. The families evaluated so far take turns in
    order of their best result, starting from the second best (the best one's region is
    the one that stalled)."""
    sign = -1.0 if direction == "minimize" else 1.0
    best: dict[object, float] = {}
    for config, v in history:
        if np.isfinite(v) and family in config:
            f = config[family]
            best[f] = max(best.get(f, -np.inf), sign * v)
    if not best:
        return None
    order = sorted(best, key=lambda f: -best[f])  # stable: ties keep the history's order
    chosen = order[(turn + 1) % len(order)]
    centre = incumbent_row(
        space, [(c, v) for c, v in history if c.get(family) == chosen], direction
    )
    return None if centre is None else Region(space, centre, radius, keep=family)
