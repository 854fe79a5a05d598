"""Review 6 F3: the transfer warning counts the past trials left out, and says so."""

from __future__ import annotations

import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _past(xs: list[float]) -> optuna.Study:
    """A past study over x in [0, 10]: those of ``xs`` above 1 do not fit [0, 1]."""
    old = optuna.create_study(study_name="old")
    dists = {"x": FloatDistribution(0.0, 10.0), "m": CategoricalDistribution(["a", "b"])}
    for i, x in enumerate(xs):
        params = {"x": x, "m": "ab"[i % 2]}
        old.add_trial(create_trial(params=params, distributions=dists, value=x))
    return old


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    return (x - 0.3) ** 2 + (trial.suggest_categorical("m", ["a", "b"]) == "b")


def _transfer_messages(old: optuna.Study) -> list[str]:
    sampler = MetaRLSampler(learner=ForestLearner(n_estimators=10), seed=0, transfer={"old": old})
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(_objective, n_trials=2)
    return [str(w.message) for w in caught if "transfer: 'old'" in str(w.message)]


def test_the_warning_counts_the_past_trials_that_do_not_fit() -> None:
    messages = _transfer_messages(_past([0.2, 4.0, 0.7, 5.0, 6.0]))  # 3 of 5 outside [0, 1]
    assert messages
    assert all("'old': 3 of its 5 trials do not fit the study's parameters" in m for m in messages)
    assert all(m.endswith("; left out") for m in messages)


def test_one_trial_left_out_reads_in_the_singular() -> None:
    messages = _transfer_messages(_past([0.2, 0.5, 0.7, 5.0]))
    assert messages
    expected = "'old': 1 of its 4 trials does not fit the study's parameters"
    assert all(expected in m for m in messages)
