"""Review 6 F7: a COMPLETE trial whose params lie outside the sampler's space (enqueued with
an out-of-range or off-grid value, which Optuna warns about and evaluates as given) leaves
MetaRLSampler working: the rounds leave it out, with one warning naming the trial."""

from __future__ import annotations

import warnings

import optuna
import pytest
from optuna.trial import TrialState

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    n = trial.suggest_int("n", 1, 8)
    s = trial.suggest_float("s", 0.0, 1.0, step=0.25)
    c = trial.suggest_categorical("c", ["a", "b"])
    return (x - 0.3) ** 2 + abs(n - 3) + s + (c == "b")


@pytest.mark.parametrize(
    "queued",
    [
        {"x": 5.0, "n": 2, "s": 0.5, "c": "a"},  # float above its range
        {"x": 0.2, "n": 40, "s": 0.5, "c": "a"},  # integer above its range
        {"x": 0.2, "n": 2, "s": 0.6, "c": "b"},  # off the float's step grid
    ],
)
def test_an_enqueued_trial_outside_the_space_is_left_out_with_one_warning(queued) -> None:
    sampler = MetaRLSampler(learner=ForestLearner(n_estimators=10), seed=0, n_startup_trials=3)
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial(queued)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(objective, n_trials=8)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 8
    assert study.trials[0].params == queued  # Optuna evaluated it as given
    messages = [str(w.message) for w in caught if "MetaRLSampler: trial 0's" in str(w.message)]
    assert len(messages) == 1, messages  # once, not every round
    assert "outside the sampler's space" in messages[0] and "left out" in messages[0]
    # the later trials are the learner's: inside the space, none repeated
    later = [t.params for t in study.trials[3:]]
    assert all(0.0 <= p["x"] <= 1.0 and 1 <= p["n"] <= 8 for p in later)
    assert len({tuple(sorted(p.items())) for p in later}) == len(later)
