"""Replicates in a study's storage: a replicate trial, and the incumbent by mean.

A round with ``Study(replicates=...)`` may propose its observed incumbent again
(:mod:`metarl.loop._replicates`). The study enqueues it as an ordinary WAITING trial with the
same params and the user attribute ``metarl:replicate_of``: the number of the config's
first COMPLETE trial. Read back, the history holds one row per COMPLETE trial, so the
config's rows are its evaluations, and the learner fits them all.

``Study.best_trial`` is then the first trial of the config with the best *mean* value over
its COMPLETE trials, and ``Study.best_value`` that mean (:func:`best_by_mean`): a replicate
that falls back to the config's true level takes the lucky draw's place as the incumbent.
Only a study with replicates ranks by mean (:func:`by_mean`: set on the ``Study``, or a
trial carries ``metarl:replicate_of``); without them a config enqueued twice is two trials,
and the best is the single best trial, Optuna's rule, as ``optuna_study.best_trial``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from metarl.loop import REPLICATE_OF, Replicates, Round
from metarl.loop._replicates import config_means, round_settings
from metarl.space import SearchSpace, config_from_optuna_params
from metarl.type_aliases import Direction

__all__ = [
    "REPLICATE_OF",
    "best_by_mean",
    "by_mean",
    "check_study_replicates",
    "merge_attrs",
    "ranked_by_mean",
    "replicate_attrs",
    "study_best",
]


def check_study_replicates(
    space: SearchSpace,
    replicates: Any,
    policy: Any = "auto",
    label: str | None = None,
    transfer: bool = False,
) -> Replicates | None:
    """The replicate settings of a study (None: none).

    Raises:
        ValueError: a bad setting, a policy that fits no learner, transfer data
            (:func:`metarl.loop._replicates.round_settings`), or replicates on a space with
            a Fidelity (a replicate at another fidelity is no replicate).
    """
    settings = round_settings(replicates, policy, label, transfer)
    if settings is not None and space.fidelity_names:
        raise ValueError(
            f"replicates: not supported on a space with a Fidelity "
            f"({', '.join(space.fidelity_names)}); pass replicates=None"
        )
    return settings


def replicate_attrs(step: Round, trials: Sequence[FrozenTrial]) -> list[dict[str, Any]] | None:
    """Per proposal of ``step``, its trial attributes: ``metarl:replicate_of`` for a
    replicate, nothing for the others (None: the round has no replicate).

    ``trials`` are those the round's history was read from
    (:func:`~metarl.study._trials.history_of`): row ``r`` of its ``M`` is the ``r``-th
    COMPLETE trial.
    """
    if all(row is None for row in step.replicate_of):
        return None
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    return [{} if row is None else {REPLICATE_OF: done[row].number} for row in step.replicate_of]


def merge_attrs(
    *per_config: list[dict[str, Any]] | None,
) -> list[dict[str, Any]] | None:
    """Per-config attribute lists merged entry by entry (None entries skipped; None when
    all are)."""
    given = [p for p in per_config if p is not None]
    if not given:
        return None
    return [{k: v for attrs in entries for k, v in attrs.items()} for entries in zip(*given)]


def best_by_mean(
    space: SearchSpace, trials: Sequence[FrozenTrial], direction: Direction
) -> tuple[FrozenTrial, float, int]:
    """The incumbent of a study whose configs may be evaluated more than once.

    Returns:
        ``(trial, mean, n)``: the first COMPLETE trial of the config with the best mean
        value over its COMPLETE trials (ties: the config completed first), that mean and
        the number of those trials. Without repeated configs, the best trial, its value
        and 1.

    Raises:
        ValueError: no trial is complete (as Optuna's ``best_trial``).
    """
    return ranked_by_mean(space, trials, direction, replicates=True)[0]


def by_mean(trials: Sequence[FrozenTrial], replicates: bool = False) -> bool:
    """Whether a study's incumbent is the best *mean* over a config's trials: with
    ``replicates`` set (``Study(replicates=...)``) or when a trial carries
    ``metarl:replicate_of``; otherwise each trial ranks on its own value."""
    return replicates or any(REPLICATE_OF in t.user_attrs for t in trials)


def study_best(
    space: SearchSpace, study: optuna.Study, direction: Direction, replicates: bool = False
) -> tuple[FrozenTrial, float, int | None]:
    """``Study``'s incumbent as ``(trial, value, n)``: with replicates (:func:`by_mean`),
    :func:`best_by_mean`; otherwise the best single trial, its value and ``n = None``:
    Optuna's ``best_trial``, on a space with a Fidelity the best full-fidelity trial
    (:func:`metarl.study._fidelity.best_trial`; replicates are refused there)."""
    trials = study.get_trials(deepcopy=False)
    if space.fidelity_names or not by_mean(trials, replicates):
        from metarl.study._fidelity import best_trial

        best = best_trial(space, study, direction)
        return best, float(best.value), None
    return best_by_mean(space, trials, direction)


def ranked_by_mean(
    space: SearchSpace,
    trials: Sequence[FrozenTrial],
    direction: Direction,
    replicates: bool = False,
) -> list[tuple[FrozenTrial, float, int]]:
    """A study's configs, best first, as ``metarl status`` and ``metarl best`` rank them:
    with replicates (:func:`by_mean`), each config as ``(trial, mean, n)`` of
    :func:`best_by_mean` (its first COMPLETE trial, the mean of its COMPLETE trials, their
    number; ties: the config completed first), so that the first is ``Study.best_trial``.
    Without replicates, or on a space with a Fidelity (the trials at full fidelity,
    :func:`metarl.study._fidelity.full_fidelity_trials`), each trial on its own value
    (``n = 1``; ties: the trial completed first).

    Raises:
        ValueError: none complete (at full fidelity) yet.
    """
    from metarl.study._fidelity import full_fidelity_trials

    done = full_fidelity_trials(space, trials)
    if not done:
        at = " at full fidelity" if space.fidelity_names else ""
        raise ValueError(f"no trial is complete{at} yet")
    values = np.asarray([t.value for t in done], dtype=np.float64)
    if space.fidelity_names or not by_mean(trials, replicates):
        first, means, counts = np.arange(len(done)), values, np.ones(len(done), np.int64)
    else:
        M = space.to_matrix([config_from_optuna_params(space, t.params) for t in done])
        first, means, counts = config_means(space, M, values)
    order = np.argsort(-means if direction == "maximize" else means, kind="stable")
    return [(done[int(first[g])], float(means[g]), int(counts[g])) for g in order]
