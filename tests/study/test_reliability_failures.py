"""Failures are loud (issue 12, item 6): each is printed as it is stored, and the loop stops
when the first trials all failed or K in a row failed with the same error."""

from __future__ import annotations

import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from metarl.learners import ForestLearner
from metarl.study import Study, TooManyFailuresError
from metarl.study._trials import failure_stop
from tests.study._trainers import SPACE, quadratic

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(trainer, **kw) -> Study:
    kw = {"metric": "loss", "executor": "thread", "n_workers": 1, **kw}
    return Study(SPACE, trainer, learner=ForestLearner(n_estimators=10), policy="random", **kw)


def test_a_wrong_metric_stops_after_the_initial_design_with_the_reason(capsys) -> None:
    s = _study(quadratic, metric="los", n_init=4, batch_size=2)
    with pytest.raises(TooManyFailuresError, match="first 4 trials all failed.*no metric 'los'"):
        s.optimize(30)
    assert len(s.trials()) == 4  # the budget is not burnt
    err = capsys.readouterr().err.splitlines()
    printed = [line for line in err if "failed:" in line]
    assert len(printed) == 4
    assert printed[0].startswith("metarl: trial 0 failed: trainer result has no metric 'los'")


def test_a_bare_value_does_not_pass_for_another_metric() -> None:
    s = _study(lambda config: float(config["x"]), n_init=2, batch_size=2)
    with pytest.raises(TooManyFailuresError, match="bare value, not the metric 'loss'"):
        s.optimize(10)
    # and with the metric 'value', a bare number is the objective
    s = _study(lambda config: float(config["x"]), metric="value", n_init=2, batch_size=2)
    assert len(s.optimize(4).trials((TrialState.COMPLETE,))) == 4


def _breaks_after(n_ok: int):
    calls = {"n": 0}
    lock = threading.Lock()

    def trainer(config: dict) -> dict:
        with lock:
            calls["n"] += 1
            k = calls["n"]
        if k > n_ok:
            raise RuntimeError("CUDA out of memory")
        return quadratic(config)

    return trainer


def test_k_consecutive_failures_with_the_same_error_stop_the_loop() -> None:
    s = _study(_breaks_after(5), n_init=3, batch_size=2, max_consecutive_failures=3)
    with pytest.raises(TooManyFailuresError, match="3 consecutive trials failed.*out of memory"):
        s.optimize(40)
    states = [t.state for t in s.trials() if t.state != TrialState.WAITING]
    assert states == [TrialState.COMPLETE] * 5 + [TrialState.FAIL] * 3


def test_no_stop_when_k_is_none_and_something_completed() -> None:
    s = _study(_breaks_after(3), n_init=3, batch_size=3, max_consecutive_failures=None)
    s.optimize(12)
    assert len(s.trials((TrialState.FAIL,))) == 9


def test_different_errors_in_a_row_do_not_stop() -> None:
    trials = []
    for i, state in enumerate([TrialState.COMPLETE] + [TrialState.FAIL] * 4):
        attrs = {"metarl:error": f"error {i % 2}"} if state == TrialState.FAIL else {}
        value = 1.0 if state == TrialState.COMPLETE else None
        trials.append(optuna.trial.create_trial(state=state, value=value, user_attrs=attrs))
    for i, t in enumerate(trials):
        t.number = i
    assert failure_stop(trials, n_initial=1, k=4) is None
    assert failure_stop(trials[:1] + trials[1::2], n_initial=1, k=2) is not None


def test_bad_settings_name_the_argument() -> None:
    with pytest.raises(ValueError, match="timeout='abc'"):
        _study(quadratic, timeout="abc")
    with pytest.raises(ValueError, match="executor='gpu'"):
        _study(quadratic, executor="gpu")
    with pytest.raises(ValueError, match="max_consecutive_failures=0"):
        _study(quadratic, max_consecutive_failures=0)
    with pytest.raises(ValueError, match="grace_period=2"):
        _study(quadratic, heartbeat_interval=2, grace_period=2)


def test_a_stop_requeues_the_trials_in_flight_as_interrupted() -> None:
    calls = {"n": 0}
    lock = threading.Lock()

    def trainer(config: dict) -> dict:
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        if first:
            raise RuntimeError("diverged")
        time.sleep(2.0)
        return quadratic(config)

    s = _study(trainer, n_init=2, batch_size=2, n_workers=2, max_consecutive_failures=1)
    with pytest.raises(TooManyFailuresError, match="1 consecutive trials failed"):
        s.optimize(10)
    trials = s.trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    (lost,) = [t for t in trials if t.user_attrs.get("metarl:error") == "interrupted"]
    (copy,) = [t for t in trials if t.user_attrs.get("metarl:requeue_of") == lost.number]
    assert copy.state == TrialState.WAITING and copy.params == lost.params


def test_a_resume_with_a_fixed_trainer_is_not_refused_for_the_old_failures() -> None:
    from metarl.study import open_storage

    storage = open_storage(None)
    s = _study(_breaks_after(0), storage=storage, n_init=3, batch_size=3)
    with pytest.raises(TooManyFailuresError, match="first 3 trials all failed"):
        s.optimize(12)
    fixed = _study(quadratic, storage=storage, n_init=3, batch_size=3).optimize(12)
    assert len(fixed.trials((TrialState.COMPLETE,))) == 9  # the 3 failures stay spent
