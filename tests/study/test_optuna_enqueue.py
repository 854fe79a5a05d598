"""Trials queued with Optuna's own ``study.enqueue_trial``: their config is in the
``fixed_params`` system attribute, not in ``params``; the loop evaluates a valid one, fails
an invalid one by name before any trainer runs, and the study stays resumable."""

from __future__ import annotations

import warnings

import optuna
import pytest
from optuna.trial import TrialState

from metarl.study import Study
from metarl.study._storage import _requeue
from metarl.study._trials import history_of
from tests.study._small import small_study
from tests.study._trainers import SPACE, quadratic

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(tmp_path, trainer=quadratic, **kw):
    return small_study(f"sqlite:///{tmp_path / 's.db'}", trainer, **kw)


def test_an_optuna_enqueued_config_is_evaluated_and_stored_as_params(tmp_path) -> None:
    calls = []

    def trainer(config):
        calls.append(dict(config))
        return quadratic(config)

    s = _study(tmp_path, trainer).optimize(2)
    s.optuna_study.enqueue_trial({"x": 0.5, "n": 3, "opt": "adam"})
    s.optimize(4)
    assert {"x": 0.5, "n": 3, "opt": "adam"} in calls
    t = next(t for t in s.trials() if t.system_attrs.get("fixed_params"))
    assert t.state == TrialState.COMPLETE and t.params == {"x": 0.5, "n": 3, "opt": "adam"}
    _study(tmp_path, trainer).optimize(6)  # resumable
    assert all(t.state == TrialState.COMPLETE for t in s.trials())


@pytest.mark.parametrize(
    ("params", "named"),
    [({"x": 0.5}, "'n'"), ({"x": 5.0, "n": 3, "opt": "adam"}, "'x'"), ({"y": 1}, "'y'")],
)
def test_an_invalid_enqueued_config_fails_by_name_and_the_study_resumes(
    tmp_path, params, named
) -> None:
    calls = []

    def trainer(config):
        calls.append(dict(config))
        return quadratic(config)

    s = _study(tmp_path, trainer).optimize(2)
    s.optuna_study.enqueue_trial(params, skip_if_exists=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s.optimize(4)
        bad = next(t for t in s.trials() if t.system_attrs.get("fixed_params"))
        assert bad.state == TrialState.FAIL
        error = bad.user_attrs["metarl:error"]
        assert error.startswith("invalid config") and named in error and "\n" not in error
        assert len(calls) == 3  # 2 + 1 proposed after the failed one (it counts as done)
        _study(tmp_path, trainer).optimize(6)  # still resumable
    assert len(calls) == 5


def test_history_skips_a_trial_without_a_valid_config_with_a_warning(tmp_path) -> None:
    s = _study(tmp_path).optimize(2)
    st = s.optuna_study
    st.add_trial(optuna.trial.create_trial(state=TrialState.FAIL))  # no params at all
    st.enqueue_trial({"x": 0.5})  # WAITING, invalid
    with pytest.warns(RuntimeWarning, match=r"trial\(s\) \[2, 3\]"):
        h = history_of(SPACE, s.trials())
    assert len(h) == 2 and h.failed is not None and len(h.failed) == 0


def test_a_lost_enqueued_trial_is_requeued_with_its_fixed_params(tmp_path) -> None:
    s = _study(tmp_path).optimize(2)
    s.optuna_study.enqueue_trial({"x": 0.5, "n": 3, "opt": "adam"})
    waiting = s.trials((TrialState.WAITING,))[0]
    _requeue(s.optuna_study, waiting)
    copy = s.trials()[-1]
    assert copy.system_attrs["fixed_params"] == {"x": 0.5, "n": 3, "opt": "adam"}


def test_a_worker_evaluates_an_optuna_enqueued_config(tmp_path) -> None:
    from metarl.study import run_worker
    from metarl.trainers import TrainerSpec

    url = f"sqlite:///{tmp_path / 'w.db'}"
    Study(SPACE, TrainerSpec("import", "tests.study._trainers:quadratic"), metric="loss",
          storage=url, study_name="s", executor="none", learner="forest", n_init=2,
          batch_size=2)  # fmt: skip
    st = optuna.load_study(study_name="s", storage=url)
    st.enqueue_trial({"x": 0.5, "n": 3, "opt": "adam"})
    st.enqueue_trial({"x": 0.5, "n": 3, "opt": "sgd"})  # momentum (active) missing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run_worker(url, "s", idle_timeout=0, max_trials=4)
    by_state = {t.state: t for t in optuna.load_study(study_name="s", storage=url).get_trials()}
    assert by_state[TrialState.COMPLETE].params == {"x": 0.5, "n": 3, "opt": "adam"}
    assert "'momentum'" in by_state[TrialState.FAIL].user_attrs["metarl:error"]


def test_invalid_enqueued_configs_do_not_stop_a_resumed_study(tmp_path) -> None:
    s = _study(tmp_path).optimize(2)
    for i in range(5):
        s.optuna_study.enqueue_trial({"x": 9.0 + i}, skip_if_exists=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _study(tmp_path).optimize(12)  # was TooManyFailuresError: "the first 2 trials all failed"
    states = [t.state for t in s.trials()]
    assert states.count(TrialState.FAIL) == 5 and states.count(TrialState.COMPLETE) >= 7
