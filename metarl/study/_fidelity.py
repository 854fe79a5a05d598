"""A study on a space with a :class:`~metarl.space.Fidelity`: each proposal's fidelity chosen
by :func:`metarl.loop.choose_fidelity`, and the incumbent taken at full fidelity only.

The fidelity of a trial is one of its params (Optuna's ``trial.params``, as every parameter),
and also ``metarl:fidelity`` / ``metarl:fidelity_reason`` in its user attributes. Optuna's own
``best_trial`` ranks every trial by value, low-fidelity ones included (a model trained on 5%
of the data or for one epoch may well score "best" by chance); :func:`best_full_fidelity` is
the one metarl reports.

A trainer that continues a config from a checkpoint of a lower level returns
``metarl:continued_from`` (:data:`~metarl.trainers.CONTINUED_FROM`), stored on the trial as
every metric; :func:`continuation_rate` measures on the trials how often raising a config
continued, and the fidelity choice prices raises accordingly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from metarl.loop import History, Round
from metarl.loop._fidelity import (
    STARTS,
    check_fidelity_learner,
    check_fidelity_policy,
    choose_fidelity,
    full_fidelity_rows,
    loop_fidelity,
)
from metarl.space import SearchSpace, SpaceError, config_from_optuna_params
from metarl.study import _schema as schema
from metarl.study._trials import InvalidTrialConfigError, trial_config
from metarl.trainers import CONTINUED_FROM
from metarl.type_aliases import Config, ConfigMatrix, Direction

__all__ = [
    "CONTINUATION_PRIOR",
    "DEFAULT_FIDELITY_START",
    "best_full_fidelity",
    "best_trial",
    "check_fidelity_learner",
    "check_fidelity_policy",
    "check_fidelity_start",
    "continuation_rate",
    "continued_from",
    "design_at_levels",
    "fidelity_proposals",
    "full_fidelity_trials",
    "loop_fidelity",
    "round_proposals",
]


#: :func:`continuation_rate` before any raise was seen, and its weight: one pseudo-raise.
CONTINUATION_PRIOR = 0.5

#: Where a config never evaluated starts when ``Study(fidelity_start=None)``: one of
#: :data:`metarl.loop._fidelity.STARTS` (``"full"``: any level, by gain per cost).
DEFAULT_FIDELITY_START = "full"


def check_fidelity_start(space: SearchSpace, value: Any) -> str | None:
    """``Study(fidelity_start=...)`` checked: the start the loop uses (None, the default:
    :data:`DEFAULT_FIDELITY_START`), or None on a space without a loop fidelity.

    Raises:
        ValueError: not None nor one of :data:`~metarl.loop._fidelity.STARTS`, or given on a
            space without a loop-chosen Fidelity (it would do nothing there).
    """
    if value is not None and value not in STARTS:
        raise ValueError(f"fidelity_start={value!r}: expected None or one of {list(STARTS)}")
    if loop_fidelity(space) is None:
        if value is not None:
            raise ValueError(
                f"fidelity_start={value!r}: the space has no Fidelity for the loop to choose "
                "(it sets where a fresh config starts); pass fidelity_start=None"
            )
        return None
    return value if value is not None else DEFAULT_FIDELITY_START


def design_at_levels(space: SearchSpace, name: str, design: ConfigMatrix) -> ConfigMatrix:
    """The initial design spread over the fidelity's levels, cheapest first (row ``i`` of
    ``n`` at level ``floor(i * L / n)`` of ``L``): the cost model and the learner must see how
    seconds and values change with the fidelity, which one level cannot show (the round then
    proposes these rows, keyed at their levels)."""
    levels = space.params[name].levels()  # type: ignore[attr-defined]
    n = len(design)
    out = np.array(design, dtype=np.float64)
    if n:
        col = space.column_slices[name].start
        chosen = levels[(np.arange(n) * len(levels)) // n]
        out[:, col] = np.where(np.isnan(out[:, col]), np.nan, chosen)
    return out


def trial_seconds(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """The recorded trainer seconds (``metarl:seconds``) of the COMPLETE trials, in the
    order :func:`~metarl.study._trials.history_of` lists them (NaN when not recorded)."""
    out = []
    for t in trials:
        if t.state == TrialState.COMPLETE:
            s = t.user_attrs.get(schema.SECONDS)
            out.append(float(s) if isinstance(s, (int, float)) else np.nan)
    return np.asarray(out, dtype=np.float64)


def continued_from(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """The level each COMPLETE trial was continued from (``metarl:continued_from``; 0: from
    scratch, NaN: not reported), in :func:`trial_seconds`' order."""
    out = []
    for t in trials:
        if t.state == TrialState.COMPLETE:
            v = t.user_attrs.get(CONTINUED_FROM)
            out.append(float(v) if isinstance(v, (int, float)) else np.nan)
    return np.asarray(out, dtype=np.float64)


def continuation_rate(space: SearchSpace, trials: Sequence[FrozenTrial]) -> float:
    """How likely the trainer continues a config raised to a higher level: 0 when no trial
    reports ``metarl:continued_from`` (the trainer retrains), else ``(hits +
    CONTINUATION_PRIOR) / (raises + 1)`` over the COMPLETE trials at a level above every
    level the same config completed before the trial started (``raises``; one below the
    highest retrains: the trainer keeps the most trained checkpoint, and
    :mod:`metarl.loop._cost` prices it from scratch), of which ``hits`` were continued (a
    checkpoint may be gone: evicted, in another process's memory, or never shared: a process
    pool without ``checkpoint_dir``). Before any raise it is :data:`CONTINUATION_PRIOR`: a
    trainer that can continue may still fail to, so the first raises are priced halfway
    between a continuation and a retraining until the trials show which."""
    name = loop_fidelity(space)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    if name is None or not any(CONTINUED_FROM in t.user_attrs for t in done):
        return 0.0
    M = space.to_matrix([config_from_optuna_params(space, t.params) for t in done])
    col = space.column_slices[name].start
    level = M[:, col].copy()
    full = np.where(np.isnan(level), np.nan, float(space.params[name].full))  # type: ignore[attr-defined]
    M[:, col] = full
    groups: dict[bytes, list[int]] = {}
    for i, key in enumerate(space.keys(M)):
        groups.setdefault(key, []).append(i)
    raises = hits = 0
    for rows in (g for g in groups.values() if len(g) > 1):
        for i in rows:
            start = done[i].datetime_start
            if start is None:
                continue
            before = [level[j] for j in rows if (done[j].datetime_complete or start) < start]
            if before and level[i] > max(before):  # below the highest: retrains, no raise
                raises += 1
                v = done[i].user_attrs.get(CONTINUED_FROM)
                hits += int(isinstance(v, (int, float)) and v > 0)
    return (hits + CONTINUATION_PRIOR) / (raises + 1)


def fidelity_proposals(
    space: SearchSpace,
    M: ConfigMatrix,
    history: History,
    trials: Sequence[FrozenTrial],
    learner: Any,
    direction: Direction,
    focus: SearchSpace | None = None,
    design: bool = False,
    start: str = DEFAULT_FIDELITY_START,
) -> tuple[list[Config], list[dict[str, Any]], dict[str, Any]]:
    """The round's proposals at their chosen fidelities (rows of the initial design,
    ``design``, at the levels they were given, reason ``design``); ``start``: where a config
    never evaluated may start (:func:`~metarl.loop.choose_fidelity`'s).

    Returns:
        The configs, per config its trial attributes (``metarl:fidelity``,
        ``metarl:fidelity_reason``), and the additions to the round's record
        (``fidelity_counts``, ``n_promoted``, ``cost_model_points``).
    """
    if design:  # the initial design's rows keep the levels design_at_levels gave them
        col = space.column_slices[str(loop_fidelity(space))].start
        attrs = [{schema.FIDELITY: float(f), schema.FIDELITY_REASON: "design"} for f in M[:, col]]
        return space.to_configs(M), attrs, {}
    seconds = trial_seconds(trials)
    choice = choose_fidelity(
        space, M, history, seconds, learner, direction=direction, focus=focus,
        continuation=continuation_rate(space, trials), continued_from=continued_from(trials),
        start=start,
    )  # fmt: skip
    attrs = [
        {schema.FIDELITY: float(f), schema.FIDELITY_REASON: r}
        for f, r in zip(choice.fidelity, choice.reasons)
    ]
    return space.to_configs(choice.M), attrs, choice.record


def round_proposals(
    space: SearchSpace,
    step: Round,
    history: History,
    trials: Sequence[FrozenTrial],
    direction: Direction,
    focus: SearchSpace | None = None,
    start: str | None = None,
) -> tuple[list[Config], list[dict[str, Any]] | None, dict[str, Any]]:
    """A round's proposals as a study enqueues them: on a space with a loop fidelity, at
    their chosen fidelities (:func:`fidelity_proposals`; ``start`` None:
    :data:`DEFAULT_FIDELITY_START`), else as the round made them (no per-config attributes,
    nothing added to the record)."""
    if loop_fidelity(space) is None or not len(step.M):
        return step.configs, None, {}
    return fidelity_proposals(
        space, step.M, history, trials, step.learner, direction, focus,
        design=step.record["origin"] == "init", start=start or DEFAULT_FIDELITY_START,
    )  # fmt: skip


def full_fidelity_trials(space: SearchSpace, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The COMPLETE trials at full fidelity, in their order: every fidelity of ``space`` at
    its ``full`` value (searched by the design or chosen by the loop; an inactive one counts
    as full), every COMPLETE trial of a space without a fidelity. The one rule for which
    trials may be the incumbent (:func:`best_full_fidelity`, ``Study.best_trial``,
    ``metarl status``, ``metarl best``). A trial that holds no valid config of the space
    (one added with Optuna's API, say) is left out, as the loop's history leaves it out.
    """
    done, configs = [], []
    for t in trials:
        if t.state != TrialState.COMPLETE:
            continue
        try:
            config = trial_config(space, t)
            space.validate(config)
        except (InvalidTrialConfigError, SpaceError):
            continue
        done.append(t)
        configs.append(config)
    if done and space.fidelity_names:
        M = space.to_matrix(configs)
        done = [t for t, full in zip(done, full_fidelity_rows(space, M)) if full]
    return done


def best_full_fidelity(
    space: SearchSpace, trials: Sequence[FrozenTrial], direction: Direction
) -> FrozenTrial:
    """The best of :func:`full_fidelity_trials`, the first one on ties, as Optuna breaks
    them.

    Raises:
        ValueError: no trial is complete at full fidelity yet (Optuna's ``best_trial``
            raises ValueError when none is complete).
    """
    done = full_fidelity_trials(space, trials)
    if not done:
        at = " at full fidelity" if space.fidelity_names else ""
        raise ValueError(f"no trial is complete{at} yet")
    values = np.asarray([t.value for t in done], dtype=np.float64)
    return done[int(np.argmax(values) if direction == "maximize" else np.argmin(values))]


def best_trial(space: SearchSpace, study: optuna.Study, direction: Direction) -> FrozenTrial:
    """A metarl study's best COMPLETE trial, :func:`best_full_fidelity` (ValueError before
    any counts, as Optuna's ``best_trial``): on a space without a Fidelity, Optuna's best
    trial among those that hold a valid config of the space."""
    return best_full_fidelity(space, study.get_trials(deepcopy=False), direction)
