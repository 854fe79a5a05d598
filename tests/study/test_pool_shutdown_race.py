"""A process pool shut down while one of its processes is starting (a slow spawn) starts no
call after shutdown: the call is cancelled (lost, not failed) and no process is left alive
(review 5 R2)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import time

import pytest

from metarl.study._executors import ProcessExecutor
from tests.study._trainers import quadratic


class _SlowSpawn(ProcessExecutor):
    slow = False

    def _start(self, i: int):  # noqa: ANN202 - the parent's tuple
        if self.slow:
            time.sleep(0.5)
        return super()._start(i)


@pytest.mark.parametrize("died_idle", [False, True])
def test_shutdown_while_a_process_starts_cancels_the_call(died_idle: bool) -> None:
    ex = _SlowSpawn(1)
    if died_idle:
        ex.submit(quadratic, {"x": 0.5, "n": 3}).result(timeout=60)
        proc, _ = ex._procs[0]
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    ex.slow = True
    fut = ex.submit(quadratic, {"x": 0.25, "n": 3})
    time.sleep(0.1)  # the slot is now starting a process
    ex.shutdown()
    time.sleep(1.0)
    with pytest.raises(cf.CancelledError):
        fut.result(timeout=5)
    assert not [p for p in ex._procs if p is not None and p[0].is_alive()]
