"""``metarl worker``: evaluate the WAITING trials of a shared study, from any machine."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import time
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage

from metarl.space import SearchSpace
from metarl.study import _schema as schema
from metarl.study._executors import PoolError, ProcessExecutor
from metarl.study._storage import (
    Heartbeat,
    StorageError,
    counts,
    open_storage,
    pop_waiting,
    release_trial,
    requeue_stale,
)
from metarl.study._tell import tell_result
from metarl.study._trials import InvalidTrialConfigError, claimed_config
from metarl.trainers import TrainerError, TrainerSpec


def run_worker(
    storage: str | BaseStorage,
    study_name: str,
    *,
    max_trials: int | None = None,
    idle_timeout: float = 30.0,
    timeout: float | None = None,
    heartbeat_interval: int | None = None,
    poll_interval: float = 0.5,
) -> int:
    """Take WAITING trials one at a time, evaluate them, tell the results; return the count.

    The trainer is rebuilt from the study's ``metarl:trainer`` attribute and runs in a child
    process, so that a call past ``timeout`` (default: the study's, else the
    :class:`~metarl.study.AutoTimeout` limit) is killed. An interrupted evaluation (Ctrl-C)
    is failed as ``interrupted`` and its config re-queued for another worker.

    Args:
        storage: RDB URL or storage shared with the proposing ``metarl run``.
        study_name: the study.
        max_trials: stop after this many evaluations.
        idle_timeout: stop after this many seconds with nothing to take (and stop at once
            when the study's budget is reached).
        timeout: seconds per trainer call.
        heartbeat_interval: seconds between heartbeats of the running trial, for a study
            that stores none; a study's own settings (with its grace period) win, so that
            every process judges a trial stale alike (a different value is ignored with a
            warning).
        poll_interval: seconds between polls of an empty queue.

    Raises:
        StorageError: the storage or study cannot be opened, or the study names no trainer.
        ValueError: a bad ``max_trials``, ``idle_timeout`` or ``timeout`` (before any trial
            is claimed), or a trainer this process cannot build.
    """
    _check_args(max_trials, idle_timeout, timeout)
    if not isinstance(storage, str):
        st = storage
    else:
        from metarl.study._settings import load_study_settings, serving_heartbeat

        load_study_settings(storage, study_name)  # no such study: StorageError, with the names
        st = open_storage(storage, **serving_heartbeat(storage, study_name, heartbeat_interval))
    try:
        study = optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        raise StorageError(f"no study {study_name!r} in the storage") from None
    attrs = study.user_attrs
    if schema.SPACE not in attrs:
        raise StorageError(f"study {study_name!r} is not a metarl study")
    if schema.TRAINER not in attrs:
        raise StorageError(
            f"study {study_name!r} stores no trainer (it was started with a trainer that "
            "cannot be imported by name); workers cannot rebuild it"
        )
    space = SearchSpace.from_dict(attrs[schema.SPACE])
    metric = attrs[schema.METRIC]
    spec = TrainerSpec.from_dict(attrs[schema.TRAINER])
    try:  # here, before any trial is claimed: the worker processes build it alike
        spec.build()
    except Exception as e:  # noqa: BLE001 - whatever the trainer's import raises
        raise ValueError(f"{_CANNOT_BUILD.format(study=study_name)}: {_one_line(e)}") from None
    if timeout is None:
        timeout = (attrs.get(schema.SETTINGS) or {}).get("timeout")
    budget = attrs.get(schema.BUDGET)
    n_done = 0
    idle_since = time.monotonic()
    with ProcessExecutor(1) as pool, Heartbeat(st) as hb:
        while max_trials is None or n_done < max_trials:
            requeue_stale(study, orphans=False)  # orphans are the proposer's: no race
            # claimed through the study's own (caching) storage, which later writes to the
            # trial (an enqueued trial's params, the result) go through
            trial = pop_waiting(study._storage, study._study_id)  # noqa: SLF001
            if trial is None:
                n = counts(study.get_trials(deepcopy=False))["done"]
                if budget is not None and n >= budget:
                    break
                if time.monotonic() - idle_since > idle_timeout:
                    break
                time.sleep(poll_interval)
                continue
            try:
                hb.add(trial._trial_id)
                try:
                    trial, cfg = claimed_config(study, space, trial)
                except InvalidTrialConfigError as e:  # failed with the reason; no trainer ran
                    hb.discard(trial._trial_id)
                    warnings.warn(f"metarl: trial {trial.number}: {e}", RuntimeWarning, 2)
                    continue
                outcome = pool.submit(spec, cfg, timeout)
                unbuilt = _build_failure(outcome, spec)
                if unbuilt is not None:  # this worker's fault, not the config's: re-queue it
                    release_trial(study, trial._trial_id, f"{schema.INTERRUPTED}: {unbuilt}")
                    hb.discard(trial._trial_id)
                    raise ValueError(f"{_CANNOT_BUILD.format(study=study_name)}: {unbuilt}")
                tell_result(study, trial, outcome, metric)
            except BaseException as e:  # interrupted, the storage or the pool failed: lost
                # (a PoolError: the worker process could not start, no trainer ran)
                why = f"{schema.INTERRUPTED}: {e}" if isinstance(e, PoolError) else None
                with contextlib.suppress(Exception):
                    release_trial(study, trial._trial_id, why or schema.INTERRUPTED)
                raise
            hb.discard(trial._trial_id)
            n_done += 1
            idle_since = time.monotonic()
    return n_done


#: The start of the error of a worker that cannot build the study's trainer.
_CANNOT_BUILD = (
    "study {study!r}: this worker cannot build the trainer (start it where the trainer "
    "imports, e.g. in the run config's folder, or set PYTHONPATH)"
)


def _one_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _build_failure(outcome: Any, spec: TrainerSpec) -> str | None:
    """The reason when the worker process could not build the trainer (the call failed
    before the trainer ran: not the config's failure), else None. Waits for the call."""
    try:
        error = outcome.exception()  # Ctrl-C while waiting propagates: the caller releases
    except cf.CancelledError:  # tell_result handles it
        return None
    text = str(error) if isinstance(error, TrainerError) else ""
    if text.startswith(f"ValueError: trainer {spec.name!r} cannot be imported"):
        return text.splitlines()[0]
    return None


def _check_args(max_trials: Any, idle_timeout: Any, timeout: Any) -> None:
    def number(v: Any) -> bool:
        # math.inf: no limit, as the executors take it; NaN is no number of seconds
        return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)

    if max_trials is not None and (
        not isinstance(max_trials, int) or isinstance(max_trials, bool) or max_trials < 1
    ):
        raise ValueError(f"max_trials={max_trials!r}: expected a positive integer or None")
    if not number(idle_timeout) or idle_timeout < 0:
        raise ValueError(f"idle_timeout={idle_timeout!r}: expected a number of seconds >= 0")
    if timeout is not None and (not number(timeout) or timeout <= 0):
        raise ValueError(f"timeout={timeout!r}: expected a positive number of seconds or None")
