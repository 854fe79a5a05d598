"""MetaRLSampler on a define-by-run objective with conditional parameters."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler, infer_space

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial: optuna.Trial) -> float:
    model = trial.suggest_categorical("model", ["linear", "tree"])
    x = trial.suggest_float("x", -3.0, 3.0)
    if model == "linear":
        c = trial.suggest_float("c", 1e-3, 1.0, log=True)
        return (x - 1.0) ** 2 + c
    depth = trial.suggest_int("depth", 1, 8)
    return (x + 1.0) ** 2 + 0.1 * depth + 0.5


def _sampler() -> MetaRLSampler:
    return MetaRLSampler(
        learner=ForestLearner(n_estimators=30),
        policy="exhaustive",
        n_startup_trials=6,
        batch_size=2,
        seed=0,
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_conditional_objective_runs_unchanged(n_jobs: int) -> None:
    study = optuna.create_study(sampler=_sampler())
    study.optimize(objective, n_trials=16, n_jobs=n_jobs)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 16
    for t in trials:  # conditional params present exactly on their branch
        assert ("c" in t.params) == (t.params["model"] == "linear")
        assert ("depth" in t.params) == (t.params["model"] == "tree")
    keys = [tuple(sorted(t.params.items())) for t in trials[6:]]
    assert len(set(keys)) == len(keys)  # no duplicate proposals
    if n_jobs > 1:
        return  # Optuna reseeds the startup sampler from entropy: a random run, no replay
    # the learner-driven trials are better on average than the random startup ones (a
    # seeded n_jobs=1 run replays, so this holds always or never)
    startup = [t.value for t in trials if t.number < 6]
    guided = [t.value for t in trials if t.number >= 6]
    assert sum(guided) / len(guided) < sum(startup) / len(startup)


def test_proposals_come_from_the_shared_round(monkeypatch) -> None:
    import metarl.sampler._sampler as mod

    calls = []
    real = mod.refine

    def spy(*args, **kwargs):
        calls.append(kwargs["policy"])
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "refine", spy)
    study = optuna.create_study(sampler=_sampler())
    study.optimize(objective, n_trials=10)
    # 6 startup trials, then one round per trial: each new result refits (n_jobs=1)
    assert len(calls) == 4 and all(type(p).__name__ == "Exhaustive" for p in calls)


def test_infer_space_finds_the_parent_of_a_conditional_param() -> None:
    d = {
        "model": optuna.distributions.CategoricalDistribution(["linear", "tree"]),
        "depth": optuna.distributions.IntDistribution(1, 8),
        "other": optuna.distributions.FloatDistribution(0.0, 1.0),
    }
    params = [
        {"model": "tree", "depth": 3},
        {"model": "linear", "other": 0.5},
        {"model": "tree", "depth": 5, "other": 0.1},
    ]
    space = infer_space(d, params)
    assert space.params["depth"].active_if == {"model": ["tree"]}
    assert space.params["other"].active_if == {"other?": [True]}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_startup_trials"):
        MetaRLSampler(n_startup_trials=0)


def test_infer_space_finds_an_integer_parent_by_its_threshold() -> None:
    """Per-layer parameters asked only for ``i < n_layers`` hang on ``n_layers >= i + 1``."""
    d = {
        "n_layers": optuna.distributions.IntDistribution(1, 4),
        "w1": optuna.distributions.IntDistribution(8, 64),
        "w2": optuna.distributions.IntDistribution(8, 64),
    }
    params = [
        {"n_layers": 1, "w1": 8},
        {"n_layers": 3, "w1": 16, "w2": 32},
        {"n_layers": 2, "w1": 64, "w2": 8},
        {"n_layers": 1, "w1": 32},
    ]
    space = infer_space(d, params)
    assert space.params["w2"].active_if == {"n_layers": [2, 3, 4]}
    assert "w2?" not in space.params


def _layers(trial: optuna.Trial) -> float:
    """Best with one layer of ~20 units: the region where proposals differing only in
    layers 2-4 (never asked for) would repeat the same trial (9 repeats in 24 before)."""
    n = trial.suggest_int("n_layers", 1, 4)
    widths = [trial.suggest_int(f"w{i}", 8, 64, log=True) for i in range(n)]
    act = trial.suggest_categorical("act", ["relu", "tanh"])
    return (n - 1) * 0.3 + sum((np.log2(w) - 4.3) ** 2 for w in widths) + (act == "tanh") * 0.2


def test_a_per_layer_objective_gets_no_repeated_trials() -> None:
    """With per-layer parameters hidden behind presence flags, proposals that differed only
    in layers the objective never asks for ran as the same trial again and again."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = MetaRLSampler(n_startup_trials=8, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_layers, n_trials=24)
    seen = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(seen)) == len(seen)


def _float_parent(trial: optuna.Trial) -> float:
    """``b`` is asked only when the float ``x`` > 0.5: no parent explains it (a float is
    never one), so the inferred space has a presence flag ``b?`` that the objective does
    not follow."""
    x = trial.suggest_float("x", 0.0, 1.0)
    k = trial.suggest_categorical("k", ["a", "b", "c"])
    b = trial.suggest_float("b", 1.0, 8.0) if x > 0.5 else 0.0
    return (x - 0.3) ** 2 + {"a": 0.0, "b": 0.05, "c": 0.1}[k] + 0.01 * b


def test_proposals_that_repeat_a_trial_are_dropped() -> None:
    """A proposal that gives every parameter a trial asked that trial's value runs it again,
    whatever its flags say: 9-17 repeats in 30 trials (seeds 0-2) before, none after."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in range(2):
        study = optuna.create_study(sampler=MetaRLSampler(seed=seed))
        study.optimize(_float_parent, n_trials=30)
        seen = [tuple(sorted(t.params.items())) for t in study.trials]
        assert len(set(seen)) == len(seen)


def test_repeats_compare_only_what_a_trial_asked() -> None:
    from metarl.sampler._sampler import _repeats

    space = infer_space(
        {
            "x": optuna.distributions.FloatDistribution(0.0, 1.0),
            "b": optuna.distributions.FloatDistribution(1.0, 8.0),
        },
        [{"x": 0.7, "b": 2.0}, {"x": 0.2}],
    )
    asked = [{"x": 0.2}, {"x": 0.7, "b": 2.0}]
    proposals = [
        {"x": 0.2, "b?": True, "b": 5.0},  # the objective never asks b at x = 0.2: a repeat
        {"x": 0.7, "b?": False},  # b will be asked (and drawn at random): not a repeat
        {"x": 0.7, "b?": True, "b": 2.0},  # the second trial again
        {"x": 0.3, "b?": False},
    ]
    np.testing.assert_array_equal(_repeats(space, proposals, asked), [True, False, True, False])
    assert not _repeats(space, proposals, []).any()


def test_a_none_choice_runs_end_to_end() -> None:
    """``suggest_categorical("cw", [None, "balanced"])`` (scikit-learn's class_weight): None
    is a choice the learner proposes, not an inactive parameter."""

    def obj(trial: optuna.Trial) -> float:
        cw = trial.suggest_categorical("cw", [None, "balanced"])
        x = trial.suggest_float("x", 0.0, 1.0)
        return x + (0.0 if cw is None else 1.0)

    sampler = MetaRLSampler(learner=ForestLearner(n_estimators=20), n_startup_trials=4, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(obj, n_trials=10)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 10
    guided = [t.params["cw"] for t in trials[4:]]
    assert guided.count(None) > len(guided) // 2  # the learner's proposals favour None
