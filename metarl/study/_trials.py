"""Stored trials as the loop sees them: the history of a study, proposals enqueued, and when
failures should stop it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from metarl.loop import History
from metarl.space import SearchSpace, config_from_optuna_params, config_to_optuna_params, to_optuna
from metarl.study import _schema as schema
from metarl.type_aliases import Config

_PENDING = (TrialState.WAITING, TrialState.RUNNING)


def history_of(space: SearchSpace, trials: Sequence[FrozenTrial]) -> History:
    """The loop's :class:`~metarl.loop.History` of a study's trials: COMPLETE ones with their
    values, FAIL ones, and WAITING or RUNNING ones as pending."""
    groups: dict[str, list[Config]] = {"done": [], "failed": [], "pending": []}
    values = []
    for t in trials:
        if t.state == TrialState.COMPLETE:
            groups["done"].append(config_from_optuna_params(space, t.params))
            values.append(float(t.value))
        elif t.state == TrialState.FAIL:
            groups["failed"].append(config_from_optuna_params(space, t.params))
        elif t.state in _PENDING:
            groups["pending"].append(config_from_optuna_params(space, t.params))
    return History.from_configs(space, groups["done"], values, groups["failed"], groups["pending"])


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

    Two rules, on the trials finished so far (lost evaluations aside, their configs are owed):
    the first ``n_initial`` all failed (nothing has ever completed), or the last ``k`` to
    finish all failed with the same reason (``k`` None: never).
    """
    finished = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE
        or (t.state == TrialState.FAIL and not schema.is_lost(t.user_attrs))
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
