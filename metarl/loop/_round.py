"""One refinement round: fit the meta-learner on the history, propose the next configs.

This is the step every search in metarl repeats (``Study``, ``MetaRLSampler`` and ``metarl
compare`` call the same function), so a published figure measures what a user runs. It is
pure: no storage, no evaluation; the caller keeps the history and evaluates the proposals.
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metarl.loop._design import initial_design, round_seed
from metarl.loop._replicates import fit_order, round_replicate, round_settings, seen_count
from metarl.loop._transfer import TransferData, context_label, transfer_learner, transfer_starts
from metarl.space import SearchSpace
from metarl.type_aliases import Config, ConfigMatrix, Direction

#: Fewest training points for the learner-quality cross-validation of a round.
MIN_CV_POINTS = 5
#: The growth of the training set between two learner-quality measurements that a loop
#: refitting every evaluation can afford (``refine(cv_growth=...)``): 25 %.
CV_GROWTH = 1.25


def cv_due(n_train: int, k: int, growth: float | None) -> bool:
    """Whether a round on ``n_train`` training rows, ``k`` more than the round before it,
    measures the learner's quality: always without a schedule (``growth`` None), else
    when ``n_train`` reached the next point of the geometric grid
    ``MIN_CV_POINTS * growth**j`` (j = 0, 1, ...), i.e. after the training set grew by
    ``growth`` since the last point: every round at first, then ever more rarely (with
    ``growth`` 1.25 and one config per round: 12 of the rounds up to 60 rows, 22 up to
    600). Stateless: a resumed run measures in the same rounds.
    """
    if growth is None:
        return True
    if growth <= 1.0:
        raise ValueError(f"cv_growth must be > 1 (or None: every round), got {growth!r}")

    def point(n: int) -> float:
        return math.floor(math.log(n / MIN_CV_POINTS) / math.log(growth) + 1e-9)

    before = n_train - max(int(k), 1)
    return before < MIN_CV_POINTS or point(n_train) > point(before)


@dataclass
class History:
    """What a search has seen so far, as value matrices of its space.

    Attributes:
        M: evaluated (completed) configs, one row per evaluation: a config evaluated again
            (a replicate, :mod:`metarl.loop._replicates`) has a row per evaluation.
        y: their observed values of the metric.
        failed: configs whose evaluation failed (never proposed again, no value).
        pending: configs proposed and not finished yet (never proposed twice).
    """

    M: ConfigMatrix
    y: np.ndarray
    failed: ConfigMatrix | None = None
    pending: ConfigMatrix | None = None
    _configs: list[Config] | None = field(default=None, repr=False)

    @classmethod
    def from_configs(
        cls,
        space: SearchSpace,
        configs: Sequence[Config],
        values: Sequence[float] | np.ndarray,
        failed: Sequence[Config] = (),
        pending: Sequence[Config] = (),
    ) -> History:
        """A history of config dicts (validated by ``space.to_matrix``)."""
        empty = np.empty((0, space.n_columns))

        def matrix(cs: Sequence[Config]) -> ConfigMatrix:
            return space.to_matrix(list(cs)) if len(cs) else empty

        h = cls(matrix(configs), np.asarray(values, np.float64), matrix(failed), matrix(pending))
        h._configs = [dict(c) for c in configs]
        return h

    def configs(self, space: SearchSpace) -> list[Config]:
        """The evaluated configs as dicts."""
        if self._configs is None:
            self._configs = space.to_configs(self.M)
        return self._configs

    def seen(self) -> ConfigMatrix:
        """Every config a proposal must avoid: evaluated, failed and pending."""
        parts = [m for m in (self.M, self.failed, self.pending) if m is not None and len(m)]
        return np.concatenate(parts) if parts else self.M

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Round:
    """The outcome of :func:`refine`.

    Attributes:
        M: the proposals as a value matrix (distinct; none seen before, except a replicate).
        configs: the proposals as config dicts.
        learner: the learner fitted this round (None when none was fitted).
        replicate_of: per proposal, None, or for a replicate (an evaluated config proposed
            again, ``refine(replicates=...)``) the row of ``history.M`` holding its first
            evaluation; a replicate comes first.
        record: ``origin`` (``"init"``, ``"random"`` or the policy's label), ``n_train``
            (training points, transfer data included), ``cv_spearman`` (the learner's
            cross-validated Spearman, None unless asked for and due, see ``cv_growth``),
            ``cv_method`` (``"<cv>-fold"`` when it was measured this round, else None),
            ``fit_s``, ``propose_s`` (seconds) and ``n_proposed``; with a focus also
            ``focus`` (its dict form), ``n_train_in_focus`` and ``cv_spearman_focus`` (see
            :func:`refine`); with ``replicates``, ``n_replicates`` (0 or 1) and, when one
            is proposed, ``replicate`` (:func:`~metarl.loop._replicates.replicate_due`'s
            record); JSON-ready.
    """

    M: ConfigMatrix
    configs: list[Config]
    learner: Any
    record: dict[str, Any]
    replicate_of: list[int | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.replicate_of:
            self.replicate_of = [None] * len(self.M)


def refine(
    space: SearchSpace,
    history: History,
    k: int,
    *,
    learner: Any,
    policy: Any,
    direction: Direction = "minimize",
    transfer: TransferData | None = None,
    design: ConfigMatrix | None = None,
    metric: str = "value",
    seed: int = 0,
    cv: int = 0,
    cv_growth: float | None = None,
    label: str | None = None,
    focus: SearchSpace | None = None,
    replicates: Any = None,
    past_bests: int = 0,
) -> Round:
    """One round: the initial design while it lasts, else fit the learner and propose.

    Args:
        space: the space searched.
        history: what has been evaluated, failed or is pending.
        k: configs to propose.
        learner: an unfitted meta-learner; a clone is fitted (the argument is not changed).
            With more transfer rows than ``TRANSFER_POOLED_MAX``, a GPLearner is fitted as
            RGPE (:func:`~metarl.loop.transfer_learner`; the record's ``learner`` says so).
            Every ``random_state`` of the clone left at None (nested ones too) is seeded
            from the round's seed (:func:`~metarl.loop.round_seed`).
        policy: a :class:`~metarl.agents.SearchPolicy`, reseeded (``policy.reseed``) with
            the round's seed before it proposes: its draws depend on ``seed`` and the
            history, not on the rounds it ran before, so a resumed run replays them (its
            learned state, e.g. PPO's network, is the caller's to keep). A model-free one
            (``requires_learner = False``) gets no learner and nothing is fitted.
        direction: the metric's direction.
        transfer: meta-data of other datasets. With it, every dataset's values (this
            space's own included) become normal scores of their ranks within the dataset
            (:func:`metarl.learners.group_normal_scores`) before the fit.
        design: the run's initial design (:func:`initial_design`): while fewer configs
            than its rows have been seen, the round proposes its unseen rows, in order
            (with a focus, those inside it: draw the design in the focus).
        metric: the metric's name (the learner's target name).
        seed: the run's seed. The round's random parts (its random configs, the learner's
            starts, the policy's draws) are seeded from it and the number of configs seen
            (:func:`~metarl.loop.round_seed`): the same seed and history give the same round.
        cv: folds of the learner-quality cross-validation (0: none; it refits the learner
            ``cv`` times, hyperparameters included).
        cv_growth: measure it only in the rounds where the training rows (transfer data
            included) reached the next point of a geometric grid of ratio ``cv_growth``
            (:func:`cv_due`; :data:`CV_GROWTH` = 1.25: each time the training set grew by
            25 %), for loops that refit every evaluation; the other rounds record
            ``cv_spearman`` None. None: every round.
        label: the ``origin`` of the policy's proposals (default: its class name).
        focus: a subspace of ``space`` (``space.restrict(...)``) to search: the design rows,
            random configs and the policy's proposals keep to it, while the learner still
            fits on the whole history, inside and outside the focus (a learner fitted on
            the whole space keeps working: the focus encodes like ``space``). The record
            then holds ``focus`` (:attr:`~metarl.space.SearchSpace.focus`),
            ``n_train_in_focus`` (history rows inside it) and ``cv_spearman_focus`` (the
            cross-validated Spearman scored on those rows only: the learner's quality
            where the search is; None without ``cv`` or under 5 rows in the focus).
        replicates: re-evaluate the observed incumbent (the config with the best mean over
            its evaluations) when the fitted learner says it was probably a lucky draw:
            a :class:`~metarl.loop.Replicates`, an integer (its ``max_evals``), a dict of
            its keywords, True (its defaults) or None (never, the default). The replicate
            comes first in the round, flagged in :attr:`Round.replicate_of`; the policy
            proposes the other ``k - 1`` (none when ``k`` is 1). See
            :mod:`metarl.loop._replicates`.
        past_bests: with ``transfer``, while fewer than ``past_bests`` configs of this
            dataset have been seen, the round proposes first, before the policy's picks,
            the best observed config of each of the ``past_bests`` past datasets whose
            best the learner predicts best here (:func:`~metarl.loop._transfer.transfer_starts`;
            the record's ``n_past_bests`` counts them). 0 (the default): none.

    Returns:
        The proposals, at most ``k`` (fewer only when the space is nearly exhausted), the
        fitted learner and the round's record.

    Raises:
        ValueError: ``k`` is not a positive integer, ``focus`` is not a subspace of
            ``space``, or a bad ``replicates`` (:func:`~metarl.loop._replicates.round_settings`).
        RuntimeError: the policy proposed a config already seen, one twice, or one
            outside the focus.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k={k!r}: expected a positive integer")
    if focus is not None and focus.encoding_fingerprint() != space.encoding_fingerprint():
        raise ValueError("focus: not a subspace of the space searched (space.restrict(...))")
    settings = round_settings(replicates, policy, label, transfer is not None and len(transfer))
    seen = history.seen()
    keys = set(space.keys(seen)) if len(seen) else set()
    n_distinct = len(keys)
    n_seen = seen_count(space, history, keys, settings is not None)
    record: dict[str, Any] = {
        "origin": "init",
        "n_train": 0,
        "cv_spearman": None,
        "cv_method": None,
    }
    in_focus = None
    if focus is not None:
        in_focus = focus.contains_matrix(history.M)
        record.update(focus=focus.focus, n_train_in_focus=int(in_focus.sum()))
        record["cv_spearman_focus"] = None
    record.update(fit_s=0.0, propose_s=0.0)
    target = focus if focus is not None else space
    if design is not None and n_distinct < len(design):
        inside = target.contains_matrix(design)
        fresh = [i for i, key in enumerate(space.keys(design)) if key not in keys and inside[i]]
        M = design[fresh[: min(k, len(design) - n_distinct)]]
        if len(M):
            return _done(space, M, None, record)
    learner_fit = None
    needs_learner = getattr(policy, "requires_learner", True)
    if needs_learner:
        t0 = time.perf_counter()
        n_rows = len(history) + (len(transfer) if transfer is not None else 0)
        cv_now = cv if cv_due(n_rows, k, cv_growth) else 0
        if transfer is not None and len(transfer):
            learner, replaced = transfer_learner(learner, len(transfer))
            if replaced:
                record["learner"] = replaced
        learner_fit, n_train, rho, rho_focus, method = _fit(
            space, history, learner, transfer, metric, direction, seed, n_seen, cv_now, in_focus,
            replicates=settings is not None,
        )  # fmt: skip
        record.update(n_train=n_train, cv_spearman=rho, cv_method=method)
        record["fit_s"] = round(time.perf_counter() - t0, 4)
        if focus is not None:
            record["cv_spearman_focus"] = rho_focus
    if needs_learner and learner_fit is None:  # too few points to fit: random configs
        record["origin"] = "random"
        rng = np.random.default_rng(round_seed(seed, n_seen, "random"))
        return _done(space, initial_design(target, k, rng, seen), None, record)
    record["origin"] = label or type(policy).__name__
    replicate = None
    if settings is not None:
        replicate = round_replicate(space, history, learner_fit, settings, direction, focus)
        record.update(n_replicates=int(replicate is not None))
        if replicate is not None:
            record["replicate"] = replicate
            k -= 1
    if k == 0:  # the round's one config is the replicate
        return _done(space, history.M[[replicate["row"]]], learner_fit, record, replicate=replicate)
    starts = np.empty((0, space.n_columns))
    if past_bests and transfer is not None and len(transfer) and n_distinct < past_bests:
        starts = transfer_starts(
            space, transfer, learner_fit, past_bests, direction=direction, seen=keys, target=target
        )[:k]
        record["n_past_bests"] = len(starts)
        k -= len(starts)
        if k == 0:
            return _done(space, starts, learner_fit, record)
    t0 = time.perf_counter()
    configs = history.configs(space)
    exclude = configs + (space.to_configs(seen[len(history.M) :]) if len(seen) else [])
    exclude += space.to_configs(starts)
    pairs = list(zip(configs, history.y.tolist()))
    if in_focus is not None:  # a policy breeding from its history (evolution) keeps to the focus
        pairs = [pair for pair, inside in zip(pairs, in_focus) if inside]
    policy.reseed(round_seed(seed, n_seen, "policy"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "fewer than n": the caller sees it
        proposals = policy.propose(
            target,
            learner_fit,
            k,
            direction=direction,
            exclude=exclude,
            history=pairs,
        )
    record["propose_s"] = round(time.perf_counter() - t0, 4)
    M = space.to_matrix(proposals) if proposals else np.empty((0, space.n_columns))
    repeats = sum(key in keys for key in space.keys(M))
    if repeats or len(set(space.keys(M))) < len(M):
        raise RuntimeError(
            f"policy {record['origin']!r} proposed {len(M)} configs, {repeats} of them "
            "already evaluated, failed or pending, or some twice"
        )
    if focus is not None and not focus.contains_matrix(M).all():
        raise RuntimeError(f"policy {record['origin']!r} proposed configs outside the focus")
    if len(starts):
        M = np.concatenate([starts, M])
        proposals = [*space.to_configs(starts), *proposals]
    if replicate is not None:
        row = replicate["row"]
        M = np.concatenate([history.M[[row]], M])
        proposals = [dict(configs[row]), *proposals]
    return _done(space, M, learner_fit, record, proposals, replicate)


def _done(
    space: SearchSpace,
    M: ConfigMatrix,
    learner: Any,
    record: dict[str, Any],
    configs: list[Config] | None = None,
    replicate: dict[str, Any] | None = None,
) -> Round:
    record["n_proposed"] = len(M)
    flags: list[int | None] = [None] * len(M)
    if replicate is not None:
        flags[0] = int(replicate["row"])
    configs = configs if configs is not None else space.to_configs(M)
    return Round(M, configs, learner, record, flags)


def _fit(
    space: SearchSpace,
    history: History,
    learner: Any,
    transfer: TransferData | None,
    metric: str,
    direction: Direction,
    seed: int,
    n_seen: int,
    cv: int,
    in_focus: np.ndarray | None = None,
    replicates: bool = False,
) -> tuple[Any, int, float | None, float | None, str | None]:
    """A seeded clone of ``learner`` fitted on transfer data and history (None below 2
    points), its out-of-sample Spearman, that on the rows ``in_focus`` (a mask of the
    history's rows), and how it was measured (:func:`_quality`)."""
    # in a canonical order (by value, column after column), not in arrival order: a fit
    # is bitwise reproducible only on rows in the same order, and the order trials finish
    # or are re-queued in is no part of the history (with replicates, values break ties)
    order = fit_order(np.where(np.isnan(history.M), np.inf, history.M), history.y, replicates)
    X = space.encode_matrix(history.M[order])
    y = history.y[order]
    focus_rows = in_focus[order] if in_focus is not None else None
    if transfer is not None and len(transfer):
        from metarl.learners import group_normal_scores

        own = np.full(len(y), context_label(space.context_values))
        groups = np.concatenate([transfer.groups.astype(str), own])
        X = np.concatenate([transfer.X, X])
        y = group_normal_scores(np.concatenate([transfer.y, y]), groups)
        if focus_rows is not None:  # transfer rows are other datasets': never in the focus
            focus_rows = np.concatenate([np.zeros(len(transfer), bool), focus_rows])
    if len(y) < 2:
        return None, len(y), None, None, None
    est = _seeded_clone(learner, round_seed(seed, n_seen, "learner"))
    fit_kwargs: dict[str, Any] = {}
    if transfer is not None and len(transfer) and "groups" in inspect.signature(est.fit).parameters:
        # a transfer-aware learner (RGPE) models each dataset apart: tell it which is which
        fit_kwargs = {"groups": groups, "target_group": context_label(space.context_values)}
    est.fit(X, y, target_names=[metric], **fit_kwargs)
    # its cross-validation would refit clones without groups: one GP on every pooled row
    rho, rho_focus, method = (
        (None, None, None) if fit_kwargs else _quality(est, X, y, cv, seed, direction, focus_rows)
    )
    return est, len(y), rho, rho_focus, method


def _seeded_clone(learner: Any, seed: int) -> Any:
    """A clone of ``learner`` whose ``random_state`` parameters left at None, its own and
    those of nested estimators (``est__random_state``), are seeded from ``seed``: a
    learner drawing from global state (random restarts, bootstraps) would make rounds
    irreproducible."""
    from sklearn.base import clone

    est = clone(learner)
    unset = sorted(
        name
        for name, value in est.get_params(deep=True).items()
        if value is None and (name == "random_state" or name.endswith("__random_state"))
    )
    seeds = np.random.SeedSequence(seed).generate_state(len(unset))
    return est.set_params(**{name: int(s) for name, s in zip(unset, seeds)}) if unset else est


def _quality(
    est: Any,
    X: np.ndarray,
    y: np.ndarray,
    cv: int,
    seed: int,
    direction: Direction,
    rows: np.ndarray | None = None,
) -> tuple[float | None, float | None, str | None]:
    """The learner's cross-validated Spearman (as :func:`metarl.learners.evaluate` scores
    it), that of the same out-of-fold predictions on ``rows`` only (a mask; None without
    one or with under :data:`MIN_CV_POINTS` of them), and the method (``"<cv>-fold"``).

    The folds refit clones, hyperparameters included: a GP's closed-form leave-one-out
    with the hyperparameters fitted on every row was measured far too optimistic (LOO
    Spearman 0.90-0.96 where the same fit ranked unseen real results at 0.11-0.47 on the
    2^73 digits space, ``bench_ppo_overhead.py --parts quality``): rounds save the cost by
    measuring less often (``cv_growth`` of :func:`refine`), not by measuring less honestly.
    """
    if cv < 2 or len(y) < max(cv, MIN_CV_POINTS):
        return None, None, None
    from metarl.learners import cross_val_predict, score_predictions

    oof, method = cross_val_predict(est, X, y, cv=cv, seed=seed), f"{cv}-fold"

    def spearman(mask: np.ndarray) -> float | None:
        rho = score_predictions(y[mask], oof[mask], direction=direction)["spearman"]
        return round(float(rho), 4) if np.isfinite(rho) else None

    rho = spearman(np.ones(len(y), bool))
    if rows is None or rows.sum() < MIN_CV_POINTS:
        return rho, None, method
    return rho, spearman(rows), method
