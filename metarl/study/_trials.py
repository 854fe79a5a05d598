"""Stored trials as the loop sees them: the history of a study, proposals enqueued, and when
failures should stop it."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from metarl.loop import History
from metarl.space import (
    SearchSpace,
    SpaceError,
    config_from_optuna_params,
    config_to_optuna_params,
    to_optuna,
)
from metarl.space._optuna import checked_config_from_optuna_params
from metarl.study import _schema as schema
from metarl.type_aliases import Config

_PENDING = (TrialState.WAITING, TrialState.RUNNING)

#: The COMPLETE trials with an infinite value announced in this process (every round reads
#: the history again; Python's own once-per-message registry is reset whenever a filter
#: changes, as rounds do): the trial's id with its start and end, unique across storages.
_ANNOUNCED: set[tuple[Any, ...]] = set()


#: Optuna's system attribute holding the params of a trial queued by ``study.enqueue_trial``
#: (its ``params`` stay empty until a sampler's ``suggest_*`` writes them).
FIXED_PARAMS = "fixed_params"


class InvalidTrialConfigError(ValueError):
    """A trial that holds no valid config of the study's space (the message says why)."""


def trial_config(space: SearchSpace, trial: FrozenTrial) -> Config:
    """The config a stored trial holds: its params, or, while they are empty, the
    ``fixed_params`` of a trial queued with Optuna's own ``study.enqueue_trial`` (in
    ``trial.params`` form, checked against the space).

    Raises:
        InvalidTrialConfigError: neither gives a config of the space (the message names the
            parameter at fault).
    """
    if trial.params:
        return config_from_optuna_params(space, trial.params)
    fixed = trial.system_attrs.get(FIXED_PARAMS)
    if not fixed:
        raise InvalidTrialConfigError("the trial holds no params")
    try:
        return checked_config_from_optuna_params(space, dict(fixed))
    except SpaceError as e:
        raise InvalidTrialConfigError(f"enqueued params: {e}") from None


def claimed_config(
    study: optuna.Study, space: SearchSpace, trial: FrozenTrial
) -> tuple[FrozenTrial, Config]:
    """The trial a process just claimed (RUNNING) and the config it evaluates.

    A trial queued with Optuna's ``study.enqueue_trial`` gets its checked ``fixed_params``
    written as its params, so that once finished it reads like any other trial. One without
    a valid config is failed with the reason (``metarl:error``, not a lost evaluation: no
    trainer runs it, and its config is not re-queued).

    Raises:
        InvalidTrialConfigError: the trial holds no valid config; it is failed.
    """
    storage = study._storage  # noqa: SLF001 - trial writes take the storage
    try:
        config = trial_config(space, trial)
    except InvalidTrialConfigError as e:
        reason = f"{schema.INVALID_CONFIG}: {e}"
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
            storage.set_trial_user_attr(trial._trial_id, schema.ERROR, reason)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        raise InvalidTrialConfigError(reason) from None
    if not trial.params:
        dists = to_optuna(space)
        params = _within(config_to_optuna_params(space, config), dists)
        for name, v in params.items():
            d = dists[name]
            storage.set_trial_param(trial._trial_id, name, d.to_internal_repr(v), d)
        trial = storage.get_trial(trial._trial_id)
    return trial, config


def history_of(space: SearchSpace, trials: Sequence[FrozenTrial]) -> History:
    """The loop's :class:`~metarl.loop.History` of a study's trials: COMPLETE ones with their
    values, FAIL ones, and WAITING or RUNNING ones as pending.

    A trial that holds no valid config of the space (queued with ``study.enqueue_trial``
    with bad params, or failed for it) is left out with a warning: a study stays resumable
    whatever was added to it. A COMPLETE trial with an infinite value (written from outside:
    Optuna's ``add_trial``, another client; a trainer's is a FAIL) counts as failed, as
    :class:`~metarl.MetaRLSampler` counts it: no learner can fit it, and its config is not
    proposed again; a warning names it once.
    """
    groups: dict[str, list[Config]] = {"done": [], "failed": [], "pending": []}
    values = []
    skipped = []
    for t in trials:
        group = {TrialState.COMPLETE: "done", TrialState.FAIL: "failed"}.get(t.state)
        if group is None and t.state in _PENDING:
            group = "pending"
        if group is None:
            continue
        try:
            config = trial_config(space, t)
            space.validate(config)
        except (InvalidTrialConfigError, SpaceError):
            skipped.append(t.number)
            continue
        if group == "done" and not math.isfinite(t.value):
            _announce_infinite(t)
            group = "failed"
        groups[group].append(config)
        if group == "done":
            values.append(float(t.value))
    if skipped:
        warnings.warn(
            f"metarl: trial(s) {skipped} hold no valid config of the space; the loop ignores them",
            RuntimeWarning,
            stacklevel=2,
        )
    return History.from_configs(space, groups["done"], values, groups["failed"], groups["pending"])


def _announce_infinite(trial: FrozenTrial) -> None:
    key = (trial._trial_id, trial.number, trial.datetime_start, trial.datetime_complete)  # noqa: SLF001
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    warnings.warn(
        f"metarl: trial {trial.number}'s value {trial.value} is not finite: its config counts "
        "as failed (not proposed again)",
        RuntimeWarning,
        stacklevel=3,
    )


def enqueue(
    study: optuna.Study,
    space: SearchSpace,
    configs: Sequence[Config],
    attrs: Mapping[str, Any],
    per_config: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Add each config as a WAITING trial with the user attributes ``attrs`` (and its own
    entry of ``per_config``, when given)."""
    dists = to_optuna(space)
    for i, cfg in enumerate(configs):
        params = _within(config_to_optuna_params(space, cfg), dists)
        own = per_config[i] if per_config is not None else {}
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.WAITING,
                params=params,
                distributions={k: dists[k] for k in params},
                user_attrs={**attrs, **own},
            )
        )


def _within(params: dict[str, Any], dists: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with each float clipped to its distribution's bounds: a log-grid end such
    as ``exp(log(0.1)) = 0.10000000000000006`` passes metarl's tolerance, not Optuna's check."""
    out = dict(params)
    for k, v in params.items():
        d = dists[k]
        if isinstance(d, FloatDistribution) and isinstance(v, float):
            out[k] = min(max(v, d.low), d.high)
    return out


class TooManyFailuresError(RuntimeError):
    """The loop stopped because the trainer keeps failing (the message says how and why).

    Attributes:
        reason: the rule that fired and the most common failure reason.
    """

    def __init__(self, study_name: str, reason: str) -> None:
        super().__init__(
            f"study {study_name!r} stopped: {reason} (every reason: metarl status; "
            "max_consecutive_failures sets how many in a row stop the study)"
        )
        self.reason = reason


def failure_reason(trial: FrozenTrial) -> str:
    """The first line of a FAIL trial's stored reason (``metarl:error``)."""
    lines = str(trial.user_attrs.get(schema.ERROR, "")).strip().splitlines()
    return lines[0] if lines else "(no reason stored)"


def failure_stop(trials: Sequence[FrozenTrial], n_initial: int, k: int | None) -> str | None:
    """Why a study should stop because its trainer keeps failing, or None.

    Two rules, on the trials finished so far (lost evaluations aside, their configs are owed,
    and trials failed for holding no valid config, which no trainer ran):
    the first ``n_initial`` all failed (nothing has ever completed), or the last ``k`` to
    finish all failed with the same reason (``k`` None: never).
    """
    finished = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE
        or (
            t.state == TrialState.FAIL
            and not schema.is_lost(t.user_attrs)
            and not schema.is_invalid(t.user_attrs)
        )
    ]
    failed = [t for t in finished if t.state == TrialState.FAIL]
    if failed and len(failed) == len(finished) and len(failed) >= n_initial:
        reasons = Counter(failure_reason(t) for t in failed)
        reason, n = reasons.most_common(1)[0]
        return f"the first {len(failed)} trials all failed (most common reason, {n}x: {reason})"
    if k is None or len(finished) < k:
        return None
    last = sorted(finished, key=lambda t: (t.datetime_complete or datetime.min, t.number))[-k:]
    reasons = {failure_reason(t) for t in last}
    if all(t.state == TrialState.FAIL for t in last) and len(reasons) == 1:
        return f"{k} consecutive trials failed with the same error: {reasons.pop()}"
    return None
