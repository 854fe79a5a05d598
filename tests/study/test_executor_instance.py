"""``Study(executor=<an Executor>)``: the caller's executor is the caller's to shut down (a
second ``optimize`` reuses it), and a claimed trial whose call cannot be submitted goes back
to the queue instead of staying RUNNING."""

from __future__ import annotations

import collections

import optuna
import pytest
from optuna.trial import TrialState

from metarl.study import make_executor
from metarl.study._executors import ThreadExecutor
from metarl.study._storage import counts
from tests.study._small import small_study
from tests.study._trainers import quadratic

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(tmp_path, executor):
    return small_study(f"sqlite:///{tmp_path / 's.db'}", executor=executor)


def test_a_callers_executor_survives_optimize_and_serves_a_second_one(tmp_path) -> None:
    ex = make_executor("thread", 2)
    s = _study(tmp_path, ex).optimize(4)
    s.optimize(6)
    states = collections.Counter(t.state for t in s.trials())
    assert states == {TrialState.COMPLETE: 6}
    assert ex.submit(quadratic, {"x": 0.5, "n": 3}).result()["loss"] == 0.0  # still open
    ex.shutdown()


class _Refusing(ThreadExecutor):
    """Submits ``ok`` calls, then raises."""

    def __init__(self, ok: int) -> None:
        super().__init__(1)
        self.ok = ok

    def submit(self, trainer, config, timeout=None):
        if self.ok <= 0:
            raise RuntimeError("submit refused")
        self.ok -= 1
        return super().submit(trainer, config, timeout)


def test_a_trial_whose_submit_raises_is_released_not_left_running(tmp_path) -> None:
    s = _study(tmp_path, _Refusing(ok=1))
    with pytest.raises(RuntimeError, match="submit refused"):
        s.optimize(4)
    trials = s.trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    lost = [t for t in trials if t.state == TrialState.FAIL]
    assert len(lost) == 1 and lost[0].user_attrs["metarl:error"].startswith("interrupted")
    assert counts(trials) == {"done": 1, "complete": 1, "failed": 0, "pending": 1}
    s.executor = "thread"  # resumable: the released config is evaluated
    s.optimize(4)
    assert counts(s.trials())["complete"] == 4
