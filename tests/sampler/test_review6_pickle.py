"""Review 6 F8: MetaRLSampler pickles and deep-copies, as Optuna's samplers do (Optuna's docs
save a sampler with ``pickle.dump(study.sampler, f)``; ``joblib.dump(study)`` pickles it)."""

from __future__ import annotations

import copy
import pickle

import optuna

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    k = trial.suggest_categorical("k", ["a", "b", "c"])
    return (x - 0.5) ** 2 + {"a": 0.0, "b": 0.3, "c": 1.0}[k]


def test_a_fresh_sampler_pickles_and_deep_copies() -> None:
    sampler = MetaRLSampler(seed=0)
    for clone in (pickle.loads(pickle.dumps(sampler)), copy.deepcopy(sampler)):
        assert isinstance(clone, MetaRLSampler)
        assert clone.seed == 0 and clone.learner == sampler.learner
        study = optuna.create_study(sampler=clone)
        study.optimize(objective, n_trials=2)


def test_a_pickled_study_continues_as_the_original_does() -> None:
    sampler = MetaRLSampler(learner=ForestLearner(n_estimators=10), seed=0, n_startup_trials=3)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=6)  # startup, then learner rounds
    restored = pickle.loads(pickle.dumps(study))  # what joblib.dump(study) stores
    copied = copy.deepcopy(study)
    for s in (study, restored, copied):
        s.optimize(objective, n_trials=4)
    params = [[t.params for t in s.trials[6:]] for s in (study, restored, copied)]
    assert params[1] == params[0] and params[2] == params[0]
    assert len(params[0]) == 4


def test_a_pickled_sampler_on_a_reloaded_study_proposes_what_the_original_would() -> None:
    # Optuna's RDB tutorial: pickle the sampler, reload the study with it
    sampler = MetaRLSampler(learner=ForestLearner(n_estimators=10), seed=0, n_startup_trials=3)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=6)
    saved = pickle.dumps(study.sampler)
    twin = optuna.create_study(sampler=pickle.loads(saved))
    twin.add_trials(study.trials)
    study.optimize(objective, n_trials=3)
    twin.optimize(objective, n_trials=3)
    assert [t.params for t in twin.trials[6:]] == [t.params for t in study.trials[6:]]
