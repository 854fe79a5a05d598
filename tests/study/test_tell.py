"""tell_result: the one path by which an evaluation's outcome reaches its trial."""

from __future__ import annotations

import concurrent.futures as cf

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from metarl.study._schema import ERROR, INTERRUPTED, REQUEUE_OF, SECONDS, WORKER
from metarl.study._storage import pop_waiting
from metarl.study._tell import objective_value, tell_result
from metarl.trainers import TrainerError

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _running() -> tuple[optuna.Study, FrozenTrial]:
    study = optuna.create_study()
    study.add_trial(
        create_trial(
            state=TrialState.WAITING,
            params={"x": 0.5},
            distributions={"x": FloatDistribution(0.0, 1.0)},
        )
    )
    return study, pop_waiting(study._storage, study._study_id)


def _future(result: object = None, error: BaseException | None = None) -> cf.Future:
    fut: cf.Future = cf.Future()
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
    return fut


def test_a_result_stores_every_metric_and_the_objective() -> None:
    study, trial = _running()
    result = {"loss": np.float32(0.25), "acc": float("nan"), "shape": (2, 3), SECONDS: 1.5}
    told = tell_result(study, trial, _future(result), "loss")
    assert told.state == TrialState.COMPLETE and told.value == 0.25
    t = study.trials[0]
    assert t.state == TrialState.COMPLETE and t.value == 0.25
    attrs = dict(t.user_attrs)
    assert attrs.pop(WORKER) and list(attrs.pop("shape")) == [2, 3]  # JSON keeps lists
    assert attrs == {"loss": 0.25, "acc": "nan", SECONDS: 1.5}  # NaN is no JSON: as text


def test_a_trainer_error_is_a_fail_with_its_reason() -> None:
    study, trial = _running()
    told = tell_result(study, trial, _future(error=TrainerError("x" * 5000)), "loss")
    assert told.state == TrialState.FAIL and told.error == "x" * 2000
    assert study.trials[0].state == TrialState.FAIL
    assert study.trials[0].user_attrs[ERROR] == "x" * 2000


def test_a_missing_or_nan_objective_is_a_fail() -> None:
    study, trial = _running()
    told = tell_result(study, trial, _future({"acc": 0.9}), "loss")
    assert told.state == TrialState.FAIL and "no metric 'loss' (keys: ['acc'])" in told.error
    assert study.trials[0].user_attrs["acc"] == 0.9  # the metrics are kept all the same


def test_a_cancelled_call_is_released_for_a_rerun_not_spent() -> None:
    study, trial = _running()
    fut: cf.Future = cf.Future()
    fut.cancel()
    told = tell_result(study, trial, fut, "loss")
    assert told.state is None and told.error.startswith(INTERRUPTED)
    lost, copy = study.trials
    assert lost.state == TrialState.FAIL and lost.user_attrs[ERROR].startswith(INTERRUPTED)
    assert copy.state == TrialState.WAITING and copy.user_attrs[REQUEUE_OF] == lost.number


def test_a_result_for_a_trial_finished_meanwhile_is_dropped_with_a_warning() -> None:
    study, trial = _running()
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)  # stale recovery
    with pytest.warns(RuntimeWarning, match="re-queued as stale"):
        told = tell_result(study, trial, _future({"loss": 1.0}), "loss")
    assert told.state is None and study.trials[0].state == TrialState.FAIL


def test_objective_value_names_what_is_wrong() -> None:
    assert objective_value({"value": 2, SECONDS: 0.1}, "value") == 2.0
    with pytest.raises(TrainerError, match="bare value, not the metric 'loss'"):
        objective_value({"value": 2, SECONDS: 0.1}, "loss")
    with pytest.raises(TrainerError, match=r"loss='high', not a number"):
        objective_value({"loss": "high"}, "loss")
    with pytest.raises(TrainerError, match="loss=inf"):
        objective_value({"loss": float("inf")}, "loss")


def test_a_trainer_returning_none_is_named_as_such() -> None:
    """review 6 F11: a trainer without a return statement was reported as a 'bare value'."""
    with pytest.raises(TrainerError, match=r"trainer returned None, not the metric 'loss'"):
        objective_value({"value": None, SECONDS: 0.1}, "loss")
