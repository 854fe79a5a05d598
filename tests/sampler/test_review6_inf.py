"""Review 6 F1: an objective returning +-inf (Optuna stores it COMPLETE) leaves MetaRLSampler
working: the trial's config counts as failed (never proposed again), announced once."""

from __future__ import annotations

import math
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _objective(bad: float):
    """Over 12 configs; ``n >= 4`` diverges (``bad``), the rest are finite."""

    def objective(trial: optuna.Trial) -> float:
        n = trial.suggest_int("n", 0, 5)
        k = trial.suggest_categorical("k", ["a", "b"])
        return bad if n >= 4 else abs(n - 2) + (k == "b")

    return objective


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_inf_values_count_as_failed_configs_with_one_warning_per_trial(bad: float) -> None:
    sampler = MetaRLSampler(learner=ForestLearner(n_estimators=10), seed=0, n_startup_trials=4)
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(_objective(bad), n_trials=10)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 10
    inf_trials = [t for t in trials if not math.isfinite(t.value)]
    assert inf_trials  # the startup trials hit the diverging region
    # one warning per non-finite trial that a later round read (not the last trial), naming it
    messages = [str(w.message) for w in caught if "not finite" in str(w.message)]
    read = [t for t in inf_trials if t.number < trials[-1].number]
    assert read
    for t in read:
        assert sum(f"trial {t.number}'s value" in m for m in messages) == 1, messages
    assert len(messages) == len(read)
    # the learner's proposals never repeat an earlier trial, a diverged one included
    for t in trials[4:]:
        assert t.params not in [u.params for u in trials[: t.number]], t.params
