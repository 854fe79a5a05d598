"""Which fidelity to evaluate each proposal at: expected gain per predicted second.

A :class:`~metarl.space.Fidelity` (a training-subsample fraction, a number of epochs) is a
meta-feature the learner sees, held at ``full`` by the design: the round
(:func:`~metarl.loop.refine`) ranks configs by the learner's prediction *at full fidelity*.
This module then chooses, per proposed config, the fidelity it is trained at:

- **gain**: how much an evaluation of config ``x`` at level ``l`` would shrink the learner's
  posterior variance of ``x`` at full fidelity, ``cov(f(x, l), f(x, full))**2 /
  var(y(x, l))`` (the GP's posterior covariance across fidelities, standardised scale). A
  low level that the GP finds well correlated with full fidelity is nearly as informative
  as full fidelity itself;
- **cost**: the trainer seconds predicted by a :class:`CostModel` fitted on the seconds the
  trials recorded (a ridge regression of log seconds on the encoding, around a prior of
  seconds proportional to the fidelity);
- **choice**: the level with the largest gain per predicted second, among the levels above
  those this config was already evaluated (or is pending) at; without a fitted learner (the
  initial design, random configs) the lowest level;
- **promotion**: a config already evaluated below full fidelity goes straight to full fidelity
  when the learner finds it promising there: the posterior probability that it beats the
  full-fidelity incumbent (before any full-fidelity result: the best predicted full-fidelity
  mean of the evaluated configs) is at least ``promote_pi``. Such configs, best probability
  first, take the places of the round's last proposals, up to half the batch (at least one):
  the acquisition rarely proposes again a config it has seen, even cheaply.

**Continuation**: a trainer that continues a config from its checkpoint at a lower level
(``TorchMLPTrainer(fidelity="epochs")``: more epochs after fewer) charges for raising an
evaluated config from level ``l`` to ``L`` only about ``c(L) - c(l)``. With ``continuation``
(the probability that a raise continues, which a study measures on its trials), the cost of
each level ``L`` above a config's highest evaluated level ``l`` is ``c(L) - continuation *
c(l)`` (at least :data:`~metarl.loop._cost.MIN_RAISE_SHARE` of ``c(L)``; a level below ``l``
costs ``c(L)``: the trainer keeps only its most trained checkpoint), in the gain per cost and
in the promotion rule, whose threshold becomes ``promote_pi`` times that share of
``c(full)``: the same odds per second as a config promoted from scratch. Continued trials'
seconds are not those of training from scratch: the cost model is fitted without them.
With ``start="auto"`` and a continuing trainer (or ``start="low"`` with any trainer), a
config never evaluated is not sent to full fidelity from scratch: it starts at the lower
level of best gain per cost, and reaches full fidelity by raises (a ladder).

This is not successive halving: no rung quotas and no fixed schedule. Which new configs are
tried is the acquisition's choice at full fidelity, how much each costs is the cost model's,
and which go to full fidelity is decided by the learner's posterior there.
The incumbent is only ever a full-fidelity result (:func:`full_fidelity_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metarl.loop._cost import CostModel, continued_cost
from metarl.space import Fidelity, SearchSpace
from metarl.type_aliases import ConfigMatrix, Direction

#: Why a proposal got its fidelity (the values of :attr:`FidelityChoice.reasons`).
REASONS = ("cheapest", "gain_per_cost", "promoted")

#: Where a config never evaluated may start (``choose_fidelity(start=...)``): ``"full"`` any
#: level, full fidelity included; ``"low"`` a level below full; ``"auto"`` below full when the
#: trainer continues (``continuation > 0``: the "ladder", a config raised later keeps what its
#: first level cost), else any level.
STARTS = ("full", "low", "auto")


def loop_fidelity(space: SearchSpace) -> str | None:
    """The name of the fidelity the loop chooses (one not searched by the design), or None.

    Raises:
        ValueError: more than one such fidelity (the loop chooses one; give the others
            ``search=True`` or a single fidelity).
    """
    names = [n for n in space.fidelity_names if not space.params[n].search]  # type: ignore[attr-defined]
    if len(names) > 1:
        raise ValueError(
            f"fidelities {names}: the loop chooses one fidelity per trial; declare one, or "
            "let the design search the others (Fidelity(..., search=True))"
        )
    return names[0] if names else None


def check_fidelity_learner(learner: Any) -> None:
    """Refuse a learner the fidelity choice cannot use (one line naming it).

    The gain of a low-fidelity evaluation is a posterior covariance across fidelities, which
    metarl's GP gives exactly; other learners give no covariance.

    Raises:
        ValueError: ``learner`` is not a :class:`~metarl.learners.GPLearner`.
    """
    from metarl.learners import GPLearner

    if not isinstance(learner, GPLearner):
        raise ValueError(
            f"learner {type(learner).__name__}: a space with a Fidelity needs learner 'gp' "
            "(its gain per cost is a GP posterior covariance across fidelities)"
        )


def check_fidelity_policy(policy: Any) -> None:
    """Refuse a model-free policy on a space with a loop-chosen fidelity (one line naming it).

    Such a policy (``requires_learner = False``: random, evolution, tpe, gp) leaves the
    round without a fitted learner, so :func:`choose_fidelity` has no gain to weigh: every
    proposal after the initial design would go to the cheapest level, and none would be
    promoted to full fidelity.

    Raises:
        ValueError: ``policy`` does not use the learner.
    """
    if not getattr(policy, "requires_learner", True):
        name = getattr(policy, "name", None) or type(policy).__name__
        raise ValueError(
            f"policy {name!r}: a space with a Fidelity needs a policy that uses the learner "
            "(a model-free one sends every proposal to the cheapest level); drop the "
            "Fidelity or choose another policy"
        )


def full_fidelity_rows(space: SearchSpace, M: ConfigMatrix) -> np.ndarray:
    """(n,) bool: the rows of a value matrix at full fidelity (every fidelity at ``full``;
    an inactive fidelity counts as full). All rows when the space has no fidelity."""
    M = np.asarray(M, dtype=np.float64)
    ok = np.ones(len(M), dtype=bool)
    for name in space.fidelity_names:
        col = M[:, space.column_slices[name].start]
        ok &= np.isnan(col) | np.isclose(col, float(space.params[name].full))  # type: ignore[attr-defined]
    return ok


def fidelity_gain(learner: Any, X_low: np.ndarray, X_full: np.ndarray) -> np.ndarray:
    """Posterior variance at ``X_full`` removed by observing ``X_low`` (row by row).

    ``cov(f(a), f(b))**2 / (var(f(a)) + noise)`` for ``a = X_low[i]``, ``b = X_full[i]``,
    under a fitted single-target :class:`~metarl.learners.GPLearner`, on its standardised
    scale (Rasmussen & Williams, 2006, eq. 2.24 for the posterior covariance).
    """
    import torch

    from metarl.learners._gp import _matern

    (model,) = learner.models_
    ls = torch.as_tensor(model["length_scale"])
    amp, noise = float(model["amplitude"]), float(model["noise"])
    A = torch.as_tensor(np.asarray(X_low, np.float64)) / ls
    B = torch.as_tensor(np.asarray(X_full, np.float64)) / ls
    Xtr, L = torch.as_tensor(model["X_scaled"]), torch.as_tensor(model["L"])

    def k_train(Z: torch.Tensor) -> torch.Tensor:
        sq = (Z * Z).sum(1)[:, None] + (Xtr * Xtr).sum(1)[None, :] - 2 * Z @ Xtr.T
        return amp * _matern(torch.sqrt(sq.clamp_min(0.0)), learner.nu)

    va = torch.linalg.solve_triangular(L, k_train(A).T, upper=False)
    vb = torch.linalg.solve_triangular(L, k_train(B).T, upper=False)
    k_ab = amp * _matern(torch.sqrt(((A - B) ** 2).sum(1)), learner.nu)
    cov = k_ab - (va * vb).sum(0)
    var_a = (amp + noise - (va * va).sum(0)).clamp_min(1e-12)
    return (cov * cov / var_a).numpy()


@dataclass
class FidelityChoice:
    """The proposals at their chosen fidelities.

    Attributes:
        M: the proposals' value matrix, the fidelity column set.
        fidelity: (n,) the chosen fidelity per row.
        reasons: per row, one of :data:`REASONS`.
        gain: (n, levels) the gain of each level (NaN without a learner).
        cost: (n, levels) the predicted seconds of each level (of a raise from the
            config's evaluated levels, with ``continuation``).
        record: JSON-ready summary for the round's record.
    """

    M: ConfigMatrix
    fidelity: np.ndarray
    reasons: list[str]
    gain: np.ndarray
    cost: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def choose_fidelity(
    space: SearchSpace,
    M: ConfigMatrix,
    history: Any,
    seconds: np.ndarray,
    learner: Any = None,
    *,
    direction: Direction = "minimize",
    promote_pi: float = 0.25,
    focus: SearchSpace | None = None,
    continuation: float = 0.0,
    continued_from: np.ndarray | None = None,
    start: str = "full",
) -> FidelityChoice:
    """Choose the fidelity each proposal is evaluated at (see the module docstring).

    Args:
        space: the space searched, with one loop-chosen fidelity (:func:`loop_fidelity`).
        M: the round's proposals (designed at full fidelity, or any fidelity: it is reset).
        history: the :class:`~metarl.loop.History` the round saw.
        seconds: the trainer seconds of each evaluated row of ``history.M`` (NaN: unknown).
        learner: the GP the round fitted (None: the initial design or random configs, which
            go to the lowest level).
        direction: the metric's direction.
        promote_pi: the posterior probability of beating the full-fidelity incumbent that
            sends a config already evaluated at low fidelity to full fidelity.
        focus: the subspace searched (promotions are taken inside it only).
        continuation: the probability that the trainer continues a config from its highest
            evaluated level when that is below the one asked (0: it trains from scratch; see
            the module docstring).
        continued_from: per evaluated row of ``history.M``, the level it was continued from
            (0 or NaN: from scratch); continued rows are left out of the cost model.
        start: where a config never evaluated (nor pending) at any level may start, one of
            :data:`STARTS`: ``"full"`` any level (by gain per cost); ``"low"`` a level below
            full; ``"auto"`` below full when ``continuation > 0``, else any level.

    Returns:
        A :class:`FidelityChoice`; its rows are distinct and none was seen before (a level
        already seen for a config is never chosen again; full fidelity is left when every
        level is).

    Raises:
        ValueError: the space has no loop-chosen fidelity, ``seconds`` does not match the
            history, or ``start`` is not one of :data:`STARTS`.
    """
    name = loop_fidelity(space)
    if name is None:
        raise ValueError("choose_fidelity: the space has no Fidelity for the loop to choose")
    p: Fidelity = space.params[name]  # type: ignore[assignment]
    col = space.column_slices[name].start
    levels = p.levels().astype(np.float64)
    seconds = np.asarray(seconds, dtype=np.float64)
    if len(seconds) != len(history.M):
        raise ValueError(f"seconds: {len(seconds)} values for {len(history.M)} evaluated configs")
    if not 0.0 <= continuation <= 1.0:
        raise ValueError(f"continuation must be in [0, 1], got {continuation!r}")
    if start not in STARTS:
        raise ValueError(f"start must be one of {list(STARTS)}, got {start!r}")
    if continued_from is not None:
        continued_from = np.asarray(continued_from, dtype=np.float64)
        if len(continued_from) != len(history.M):
            raise ValueError(
                f"continued_from: {len(continued_from)} values for {len(history.M)} "
                "evaluated configs"
            )
        seconds = np.where(continued_from > 0, np.nan, seconds)  # not a from-scratch cost
    cost_model = CostModel(space, name).fit(history.M, seconds)

    def raise_cost(X: ConfigMatrix) -> tuple[np.ndarray, np.ndarray]:
        """Per level, the from-scratch cost and the cost of reaching it from ``X``'s
        evaluated levels."""
        scratch = np.column_stack([cost_model.predict(_at(X, col, lev)) for lev in levels])
        done = _done_levels(space, history, X, col, levels)
        return scratch, continued_cost(scratch, done, continuation)

    M = np.array(M, dtype=np.float64)
    if learner is not None and len(M):
        M = _with_promotions(space, M, history, learner, direction, promote_pi, focus, raise_cost)
    n, n_lev = len(M), len(levels)
    active = ~np.isnan(M[:, col])
    at = [_at(M, col, lev) for lev in levels]
    scratch, cost = raise_cost(M)
    # the levels each config has been seen at (evaluated, failed, pending): never repeated
    seen = history.seen()
    seen_keys = set(space.keys(seen)) if len(seen) else set()
    tried = np.column_stack([[k in seen_keys for k in space.keys(X)] for X in at])
    base = {k: i for i, k in enumerate(space.keys(_at(M, col, levels[-1])))}
    done_low = np.zeros(n, dtype=bool)
    if len(history.M):
        low = ~full_fidelity_rows(space, history.M)
        for k in space.keys(_at(history.M[low], col, levels[-1])):
            if k in base:
                done_low[base[k]] = True
    gain = np.full((n, n_lev), np.nan)
    reasons = ["cheapest"] * n
    choice = np.zeros(n, dtype=int)
    if learner is not None and n:
        X_full = space.encode_matrix(at[-1])
        gain = np.column_stack([fidelity_gain(learner, space.encode_matrix(X), X_full) for X in at])
        score = np.where(tried, -np.inf, gain / cost)
        if n_lev > 1 and (start == "low" or (start == "auto" and continuation > 0)):
            score[~tried.any(axis=1), -1] = -np.inf  # a fresh config starts below full
        choice = np.argmax(score, axis=1)
        reasons = ["gain_per_cost"] * n
        share = cost[:, -1] / scratch[:, -1]
        pi = _p_improve(space, history, learner, X_full, direction)
        promote = done_low & (pi >= promote_pi * share)
        choice[promote] = n_lev - 1
        reasons = ["promoted" if pr else r for pr, r in zip(promote, reasons)]
    # never a level already seen for the config: the next one up (full fidelity is unseen,
    # the round proposed it)
    choice = np.array([_first_free(tried[i], choice[i]) for i in range(n)], dtype=int)
    choice[~active] = n_lev - 1
    out = M.copy()
    out[active, col] = levels[choice[active]]
    fidelity = np.where(active, levels[choice], np.nan)
    record = {
        "fidelity": name,
        "fidelity_counts": {
            f"{lev:g}": int(((choice == j) & active).sum()) for j, lev in enumerate(levels)
        },
        "n_promoted": int(sum(r == "promoted" for r in reasons)),
        "cost_model_points": int(np.isfinite(seconds).sum()),
        "continuation": round(float(continuation), 4),
    }
    return FidelityChoice(out, fidelity, reasons, gain, cost, record)


def _with_promotions(
    space: SearchSpace,
    M: ConfigMatrix,
    history: Any,
    learner: Any,
    direction: Direction,
    promote_pi: float,
    focus: SearchSpace | None,
    raise_cost: Any,
) -> ConfigMatrix:
    """``M`` (at full fidelity) with its last rows replaced by the evaluated low-fidelity
    configs most likely to beat the full-fidelity incumbent per second (probability >=
    ``promote_pi`` times the share of a from-scratch full run their raise costs, by
    probability over that share, not yet seen at full fidelity nor proposed; at most half the
    rows, at least one)."""
    name = str(loop_fidelity(space))
    col, full = space.column_slices[name].start, float(space.params[name].full)  # type: ignore[attr-defined]
    low = ~full_fidelity_rows(space, history.M) if len(history.M) else np.zeros(0, bool)
    if not low.any():
        return M
    cand = _at(history.M[low], col, full)
    cand = cand[np.unique(space.keys(cand), return_index=True)[1]]
    if focus is not None:
        cand = cand[focus.contains_matrix(cand)]
    out = _at(M, col, full)
    proposed = space.keys(out)
    # proposals that are promising cheap configs themselves are promoted in place
    both = np.concatenate([out, cand])
    pi = _p_improve(space, history, learner, space.encode_matrix(both), direction)
    scratch, cost = raise_cost(both)
    pi = pi / (cost[:, -1] / scratch[:, -1])  # odds per second of a from-scratch run
    in_place = np.isin(proposed, space.keys(cand)) & (pi[: len(out)] >= promote_pi)
    taken = set(space.keys(history.seen())) | set(proposed)
    fresh = np.array([k not in taken for k in space.keys(cand)], dtype=bool)
    cand, pi = cand[fresh], pi[len(out) :][fresh]
    order = np.argsort(-pi, kind="stable")
    best = cand[order[pi[order] >= promote_pi]]
    free = np.flatnonzero(~in_place)[::-1]  # the last proposals first
    n_new = min(max(1, len(out) // 2) - int(in_place.sum()), len(best), len(free))
    if n_new > 0:
        out[np.sort(free[:n_new])] = best[:n_new]
    return out


def _at(M: ConfigMatrix, col: int, value: float) -> ConfigMatrix:
    """``M`` with the fidelity column set to ``value`` where active."""
    out = np.array(M, dtype=np.float64)
    out[:, col] = np.where(np.isnan(out[:, col]), np.nan, value)
    return out


def _done_levels(
    space: SearchSpace, history: Any, M: ConfigMatrix, col: int, levels: np.ndarray
) -> np.ndarray:
    """(n, levels) bool: row ``i`` of ``M`` was evaluated at level ``j``."""
    if not len(history.M) or not len(M):
        return np.zeros((len(M), len(levels)), dtype=bool)
    done = set(space.keys(history.M))
    return np.column_stack([[k in done for k in space.keys(_at(M, col, lev))] for lev in levels])


def _first_free(tried: np.ndarray, j: int) -> int:
    """The first level from ``j`` up not tried for the config (the last when all are)."""
    free = np.flatnonzero(~tried[j:])
    return j + int(free[0]) if len(free) else len(tried) - 1


def _p_improve(
    space: SearchSpace, history: Any, learner: Any, X_full: np.ndarray, direction: Direction
) -> np.ndarray:
    """Posterior probability that each row beats the full-fidelity incumbent: the best
    full-fidelity result, or before any, the best predicted full-fidelity mean of the
    evaluated configs.

    On the learner's standardised scale (``predict_standardized``), where its mean and std
    combine into a normal posterior; the incumbent's value is mapped there by the learner's
    fitted target transform (monotone increasing, so the direction holds). On the metric
    scale, after a log or rank transform, they do not.
    """
    from scipy.stats import norm

    full = full_fidelity_rows(space, history.M)
    if full.any():
        y = np.asarray(history.y, dtype=np.float64)[full]
        z = learner.transforms_[0].transform(y)
    else:
        name = str(loop_fidelity(space))
        full_value = float(space.params[name].full)  # type: ignore[attr-defined]
        at_full = _at(history.M, space.column_slices[name].start, full_value)
        z = learner.predict_standardized(space.encode_matrix(at_full))[:, 0]
    best = np.max(z) if direction == "maximize" else np.min(z)
    mu, sd = learner.predict_standardized(X_full, return_std=True)
    d = (mu[:, 0] - best) / np.maximum(sd[:, 0], 1e-12)
    return norm.cdf(d if direction == "maximize" else -d)
