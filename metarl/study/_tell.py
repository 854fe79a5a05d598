"""Recording a trainer call's outcome on its trial: the one write path of every evaluator.

``Study`` (its local executor) and ``metarl worker`` both finish a trial here, so a stored
result reads the same whoever evaluated it: every metric as a user attribute, the objective as
the trial's value, or FAIL with the reason in ``metarl:error``.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import optuna
from optuna.trial import FrozenTrial, TrialState

from metarl.study._schema import ERROR, INTERRUPTED, MAX_ERROR_CHARS, PREFIX
from metarl.study._storage import release_trial
from metarl.trainers import TrainerError


class Told(NamedTuple):
    """What :func:`tell_result` stored.

    Attributes:
        state: ``COMPLETE`` or ``FAIL`` (by the trainer: the config is spent); None when no
            result was stored: the trial was already finished (failed as stale, and re-queued),
            or the call never ran (cancelled: the trial was failed as interrupted and
            re-queued). Either way its config is evaluated again by the copy.
        value: the objective value of a COMPLETE trial.
        error: the reason of a FAIL trial (as stored in ``metarl:error``), or of a cancelled
            call.
    """

    state: TrialState | None
    value: float | None = None
    error: str | None = None


def tell_result(study: optuna.Study, trial: FrozenTrial, outcome: cf.Future, metric: str) -> Told:
    """Store the outcome of one trainer call on its RUNNING trial.

    The trainer's metrics are written first (``storable`` form, ``metarl:seconds`` included)
    and the state last, so a process killed in between leaves a RUNNING trial that the
    heartbeat recovery re-queues, never a COMPLETE trial with missing metrics.

    Args:
        study: the Optuna study holding ``trial``.
        trial: the trial the call evaluated (claimed RUNNING by this process).
        outcome: the executor's future; its result is the trainer's metrics dict, its
            exception a :class:`~metarl.trainers.TrainerError` (trainer raised, timed out,
            worker died). A cancelled future (the executor shut down first) is not the
            trainer's failure: the trial is released (:func:`release_trial`) and re-queued.
        metric: the objective metric; a result without a finite value for it is a FAIL.

    Returns:
        What was stored; ``state`` is None when the trial had already been finished by
        another process (failed as stale because this one stalled), in which case the result
        is dropped with a ``RuntimeWarning`` and the re-queued copy is evaluated instead.
    """
    storage = study._storage  # noqa: SLF001 - Optuna's trial writes take the storage
    try:
        try:
            result = outcome.result()
            for key, v in storable(result).items():
                storage.set_trial_user_attr(trial._trial_id, key, v)
            value = objective_value(result, metric)
        except cf.CancelledError:
            text = f"{INTERRUPTED}: the executor shut down before the call ran"
            release_trial(study, trial._trial_id, text)
            return Told(None, error=text)
        except TrainerError as e:
            text = str(e)[:MAX_ERROR_CHARS]
            storage.set_trial_user_attr(trial._trial_id, ERROR, text)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            return Told(TrialState.FAIL, error=text)
        # the storage refuses to finish a finished trial (atomically, unlike a check first):
        # that is how a result that lost the race to the stale recovery is detected
        storage.set_trial_state_values(trial._trial_id, TrialState.COMPLETE, [value])
        return Told(TrialState.COMPLETE, value=value)
    except optuna.exceptions.UpdateFinishedTrialError:
        warnings.warn(
            f"metarl: trial {trial.number} was re-queued as stale before its result "
            "arrived; the result is dropped and the re-queued copy will be evaluated",
            RuntimeWarning,
            stacklevel=2,
        )
        return Told(None)


def objective_value(result: Mapping[str, Any], metric: str) -> float:
    """The finite objective value of a trainer result.

    A trainer returning a bare number gives ``{"value": x}``, which serves the metric
    ``"value"`` only: read as any other metric, a wrong ``metric`` name would pass unseen.

    Raises:
        TrainerError: the metric is missing, not a number, NaN or infinite.
    """
    if metric not in result:
        keys = sorted(k for k in result if not k.startswith(PREFIX))
        if keys == ["value"] and result["value"] is None:
            raise TrainerError(
                f"trainer returned None, not the metric {metric!r} (a missing return?): "
                f"return {{{metric!r}: ...}}"
            )
        if keys == ["value"]:
            raise TrainerError(
                f"trainer returned a bare value, not the metric {metric!r}: return "
                f"{{{metric!r}: ...}}, or set the metric to 'value'"
            )
        raise TrainerError(f"trainer result has no metric {metric!r} (keys: {keys})")
    v = result[metric]
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise TrainerError(f"trainer returned {metric}={v!r}, not a number") from None
    if not math.isfinite(x):
        raise TrainerError(f"trainer returned {metric}={x}")
    return x


def storable(result: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-storable form of a trainer result (numpy scalars to Python, others to text)."""
    import numpy as np

    out: dict[str, Any] = {}
    for k, v in result.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)  # JSON has no NaN/inf
        if not isinstance(v, (str, int, float, bool, type(None))):
            try:  # lists and dicts of plain values pass; anything else is stored as text
                json.dumps(v)
            except (TypeError, ValueError):
                v = repr(v)
        out[str(k)] = v
    return out
