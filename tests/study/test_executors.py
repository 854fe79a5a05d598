"""Executors under hangs and failures: a hung call fails with its reason and never stalls the
executor, and the process exits."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metarl.study import ProcessExecutor, ThreadExecutor, make_executor
from metarl.study._timeout import AutoTimeout
from metarl.trainers import TrainerError, TrainerSpec
from tests.study import _trainers
from tests.study._trainers import hang_once, quadratic

ROOT = Path(__file__).resolve().parents[2]
CFG = {"x": 0.5, "n": 3, "opt": "adam"}


@pytest.fixture
def release_hangs():
    _trainers.RELEASE.clear()
    _trainers._calls["n"] = 0
    yield
    _trainers.RELEASE.set()


def test_thread_executor_recovers_from_a_hung_call(release_hangs) -> None:
    with ThreadExecutor(1) as ex:
        hung = ex.submit(hang_once, CFG, timeout=0.5)
        with pytest.raises(TrainerError, match="timed out after 0.5 s"):
            hung.result(timeout=60)
        # the hung call still holds its thread: the next calls must run on a fresh one
        for _ in range(3):
            assert ex.submit(hang_once, CFG, timeout=30).result(timeout=60)["loss"] == 0.3
    assert _trainers._calls["n"] == 4


def test_thread_executor_process_exits_despite_a_hung_call() -> None:
    script = (
        "from metarl.study import ThreadExecutor\n"
        "from tests.study._trainers import hang\n"
        "ex = ThreadExecutor(2)\n"
        "f = ex.submit(hang, {'x': 0.5, 'n': 3, 'opt': 'adam'}, timeout=0.2)\n"
        "print(type(f.exception(timeout=60)).__name__)\n"
        "ex.shutdown()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "TrainerError"
    assert "Traceback" not in out.stderr and "CancelledError" not in out.stderr


def test_thread_executor_cancels_calls_queued_at_shutdown(release_hangs) -> None:
    ex = ThreadExecutor(1)
    first = ex.submit(hang_once, CFG)
    while not first.running():
        time.sleep(0.01)
    queued = ex.submit(quadratic, CFG)
    ex.shutdown()
    assert queued.cancelled()  # never ran: not a failure of the trainer
    _trainers.RELEASE.set()
    assert first.result(timeout=60)["loss"] == 0.3  # a running call is left to finish


def test_auto_timeout_follows_the_slowest_successful_call() -> None:
    auto = AutoTimeout(floor=60.0, factor=10.0, initial=3600.0)
    assert auto.limit() == 3600.0  # nothing known yet: only a truly hung call is stopped
    auto.observe(2.0)
    assert auto.limit() == 60.0  # fast calls: the floor
    auto.observe(30.0)
    auto.observe(1.0)
    assert auto.limit() == 300.0
    assert "10 x the slowest successful call (30 s)" in auto.reason(300.0)


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_a_hung_call_without_timeout_fails_by_default_with_its_reason(kind, release_hangs) -> None:
    # the default limit with a short floor, so that the test does not wait a minute
    auto = AutoTimeout(floor=1.0, initial=1.0)
    with make_executor(kind, 1, default_timeout=auto) as ex:
        hung = ex.submit(TrainerSpec("import", "tests.study._trainers:hang"), CFG)
        with pytest.raises(TrainerError, match=r"timed out .*default limit.*set timeout"):
            hung.result(timeout=120)
        ok = ex.submit(TrainerSpec("import", "tests.study._trainers:quadratic"), CFG)
        assert ok.result(timeout=120)["loss"] == 0.3  # the worker was freed (or replaced)
    assert auto.slowest is not None and auto.limit() == 1.0


def test_process_executor_explicit_inf_timeout_means_no_limit(monkeypatch) -> None:
    monkeypatch.setenv("METARL_TEST_DELAY", "0.5")  # read by the pool's child process
    with ProcessExecutor(1, default_timeout=AutoTimeout(initial=0.001)) as ex:
        slow = ex.submit(TrainerSpec("import", "tests.study._trainers:quadratic"), CFG, math.inf)
        assert slow.result(timeout=120)["loss"] == 0.3


@pytest.mark.slow
def test_dask_executor_restarts_the_worker_of_a_hung_call() -> None:
    pytest.importorskip("distributed")
    # 10 s: the limit counts from submission, and the restart takes a few seconds
    auto = AutoTimeout(floor=10.0, initial=10.0)
    with make_executor("dask", 1, default_timeout=auto) as ex:
        hung = ex.submit(TrainerSpec("import", "tests.study._trainers:hang"), CFG)
        with pytest.raises(TrainerError, match=r"timed out .*default limit"):
            hung.result(timeout=120)
        ok = ex.submit(TrainerSpec("import", "tests.study._trainers:quadratic"), CFG)
        assert ok.result(timeout=120)["loss"] == 0.3  # the only worker was freed
