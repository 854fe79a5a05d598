"""The evaluating side of a study process: claim WAITING trials, run them on the executor
under heartbeat, and tell their results (``Study.optimize``, holding the proposer lease or
not)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from metarl.space import SearchSpace
from metarl.study import _schema as schema
from metarl.study._executors import Executor, PoolError
from metarl.study._storage import Heartbeat, counts, pop_waiting, release_trial, requeue_stale
from metarl.study._tell import Told, tell_result
from metarl.study._trials import InvalidTrialConfigError, claimed_config


class Drain:
    """Evaluates a study's WAITING trials, ``executor.n_workers`` at a time.

    Args:
        study: the Optuna study.
        space: its search space.
        metric: the objective metric.
        target: what the executor calls (trainer or :class:`~metarl.trainers.TrainerSpec`).
        timeout: seconds per call (None: the executor's default limit).
        executor: runs the calls; None: evaluate nothing (``metarl worker`` processes do).
        heartbeat: records the heartbeat of the trials in flight.
        on_told: ``on_told(trial, told)``, called after each result is stored; what it
            raises stops the drain (the trials in flight stay in :attr:`inflight`).

    A call the executor could not run at all (:class:`~metarl.study._executors.PoolError`:
    its worker process did not start, or the call could not be sent) is no trainer's
    failure: its trial is released as lost (re-queued) and the error stops the drain.
    """

    def __init__(
        self,
        study: optuna.Study,
        space: SearchSpace,
        metric: str,
        target: Any,
        timeout: float | None,
        executor: Executor | None,
        heartbeat: Heartbeat,
        on_told: Callable[[FrozenTrial, Told], None],
    ) -> None:
        self.study, self.space, self.metric = study, space, metric
        self.target, self.timeout, self.executor = target, timeout, executor
        self.heartbeat, self.on_told = heartbeat, on_told
        #: The calls running in this process and their trials.
        self.inflight: dict[cf.Future, FrozenTrial] = {}

    def _trials(self, states: tuple[TrialState, ...] | None = None) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=states)

    def _fill(self, stop_at: int) -> None:
        ex = self.executor
        while ex is not None and len(self.inflight) < ex.n_workers:
            if counts(self._trials())["done"] + len(self.inflight) >= stop_at:
                return
            trial = pop_waiting(self.study._storage, self.study._study_id)  # noqa: SLF001
            if trial is None:
                return
            self.heartbeat.add(trial._trial_id)
            try:
                trial, config = claimed_config(self.study, self.space, trial)
            except InvalidTrialConfigError as e:  # failed with the reason, before any trainer runs
                self.heartbeat.discard(trial._trial_id)
                self.on_told(trial, Told(TrialState.FAIL, error=str(e)))
                continue
            except BaseException:
                self._release(trial)
                raise
            try:
                fut = ex.submit(self.target, config, self.timeout)
            except BaseException:  # not started: the evaluation is lost, not failed
                self._release(trial)
                raise
            self.inflight[fut] = trial

    def run(self, stop_at: int, proposer: bool) -> None:
        """Evaluate until no trial is pending or ``stop_at`` evaluations are stored.

        Args:
            stop_at: the budget.
            proposer: whether this process holds the proposer lease: then it also re-queues
                orphaned lost trials (one process only may), and waits for the trials that
                run elsewhere; without it, it returns as soon as none is waiting, so that
                the caller tries the lease again.
        """
        while True:
            self._fill(stop_at)
            if self.inflight:
                done, _ = cf.wait(list(self.inflight), timeout=1.0, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    trial = self.inflight.pop(fut)
                    error = None if fut.cancelled() else fut.exception()
                    if isinstance(error, PoolError):  # no trainer ran: lost, not failed
                        self._release(trial, f"{schema.INTERRUPTED}: {error}")
                        raise error  # every call would meet it; the others are released
                    told = tell_result(self.study, trial, fut, self.metric)
                    self.heartbeat.discard(trial._trial_id)
                    self.on_told(trial, told)
                continue
            requeue_stale(self.study, orphans=proposer)
            c = counts(self._trials())
            if c["pending"] == 0 or c["done"] >= stop_at:
                return
            if self.executor is None or not self._trials((TrialState.WAITING,)):
                # pending trials run elsewhere, or wait for a stale one's copy
                time.sleep(0.5)
                if not proposer:
                    return

    def release(self) -> None:
        """Fail the trials still in flight as interrupted; their configs are re-queued."""
        for trial in self.inflight.values():
            self._release(trial)
        self.inflight.clear()

    def _release(self, trial: FrozenTrial, reason: str = schema.INTERRUPTED) -> None:
        with contextlib.suppress(Exception):  # unreleased, it is re-queued as stale
            release_trial(self.study, trial._trial_id, reason)
        self.heartbeat.discard(trial._trial_id)
