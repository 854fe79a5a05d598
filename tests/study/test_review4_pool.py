"""Review 4 #2: a pool process that dies while idle (killed between calls, as by the OOM
killer) is replaced by a fresh one that takes the next call; the run goes on. Only a fresh
process that cannot start (or take the call) is a :class:`PoolError`, and a process killed
during a call is still that call's failure."""

from __future__ import annotations

import os
import signal

import pytest
from optuna.trial import TrialState

from metarl.study._executors import PoolError, ProcessExecutor
from metarl.study._storage import counts
from metarl.trainers import TrainerError
from tests.study._small import small_study


def pid_trainer(config: dict) -> dict:
    """The pool process's id as the metric; ``die`` kills it during the call."""
    if config.get("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    return {"loss": float(os.getpid())}


class _Alive:
    """A dead process that says it is alive, so the call meets the broken pipe."""

    def __init__(self, proc) -> None:
        self._proc = proc

    def is_alive(self) -> bool:
        return True

    def __getattr__(self, name):
        return getattr(self._proc, name)


def _kill_idle(ex: ProcessExecutor, i: int = 0, hide: bool = False) -> None:
    """SIGKILL slot ``i``'s idle process from outside and wait until it is gone."""
    proc, conn = ex._procs[i]
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    if hide:
        ex._procs[i] = (_Alive(proc), conn)


@pytest.mark.parametrize("hide", [False, True], ids=["seen-dead", "broken-pipe"])
def test_a_process_killed_between_calls_is_replaced_for_the_next_call(hide) -> None:
    ex = ProcessExecutor(1)
    try:
        first = ex.submit(pid_trainer, {}).result()["loss"]
        _kill_idle(ex, hide=hide)
        second = ex.submit(pid_trainer, {}).result(timeout=120)["loss"]  # no PoolError
        assert second != first  # a fresh process took it
        assert ex.submit(pid_trainer, {}).result()["loss"] == second  # and serves on
    finally:
        ex.shutdown()


class _StartsOnce(ProcessExecutor):
    """Its first process starts; no later one can."""

    def _start(self, i):
        if getattr(self, "started", False):
            raise OSError("no process for you")
        self.started = True
        return super()._start(i)


def test_a_replacement_that_cannot_start_is_a_pool_error() -> None:
    ex = _StartsOnce(1)
    try:
        ex.submit(pid_trainer, {}).result()
        _kill_idle(ex, hide=True)
        with pytest.raises(PoolError, match="cannot start a worker process: no process for you"):
            ex.submit(pid_trainer, {}).result(timeout=120)
    finally:
        ex.shutdown()


def test_a_process_killed_during_a_call_is_that_calls_failure() -> None:
    ex = ProcessExecutor(1)
    try:
        with pytest.raises(TrainerError, match="worker process died") as info:
            ex.submit(pid_trainer, {"die": True}).result(timeout=120)
        assert not isinstance(info.value, PoolError)
        assert ex.submit(pid_trainer, {}).result(timeout=120)["loss"] > 0  # a fresh one
    finally:
        ex.shutdown()


class _KillsBetweenCalls(ProcessExecutor):
    """Kills its idle process before the 2nd and 4th calls (an OOM kill between trials)."""

    def __init__(self) -> None:
        super().__init__(1)
        self.n_calls = 0

    def submit(self, trainer, config, timeout=None):
        self.n_calls += 1
        if self.n_calls in (2, 4) and self._procs[0] is not None:
            _kill_idle(self, hide=self.n_calls == 4)
        return super().submit(trainer, config, timeout)


@pytest.mark.slow
def test_a_run_goes_on_after_a_process_is_killed_between_trials(tmp_path) -> None:
    ex = _KillsBetweenCalls()
    try:
        st = small_study(f"sqlite:///{tmp_path / 's.db'}", pid_trainer, executor=ex)
        st.optimize(6)  # no PoolError
        trials = st.trials()
    finally:
        ex.shutdown()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6  # no FAIL, none lost
    assert counts(trials)["complete"] == 6
    assert len({t.value for t in trials}) == 3  # three processes served them
