"""Review 3 (search): MetaRLSampler on stepped distributions over wide ranges and on
multi-objective studies."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution, IntDistribution

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler, infer_space
from metarl.space import Categorical, Integer

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_wide_stepped_distributions_infer_an_integer_over_the_step_index() -> None:
    dists = {
        "n": IntDistribution(0, 2_000_000, step=2),
        "lr": FloatDistribution(0.0, 100.0, step=0.001),
        "small": IntDistribution(0, 10, step=2),
    }
    space = infer_space(dists, [{"n": 4, "lr": 0.5, "small": 2}])
    assert space.params["n"] == Integer(0, 1_000_000)
    assert space.params["lr"] == Integer(0, 100_000)
    # a few steps stay an ordered Categorical of the values, as before
    assert isinstance(space.params["small"], Categorical)
    assert space.params["small"].choices == [0, 2, 4, 6, 8, 10]
    # deterministic: a resumed study infers the same space
    assert infer_space(dists, [{"n": 4, "lr": 0.5, "small": 2}]) == space


def _stepped(trial: optuna.Trial) -> float:
    n = trial.suggest_int("n", 1, 2_000_001, step=2)
    x = trial.suggest_float("x", -5.0, 5.0, step=0.001)
    return abs(n - 777_777) / 1e6 + (x - 1.234) ** 2


def test_wide_stepped_proposals_are_on_the_step_grid_and_inside_the_bounds(monkeypatch) -> None:
    import metarl.sampler._sampler as mod

    proposed: list[int] = []
    propose = mod.MetaRLSampler._propose

    def counted(self, *args):  # type: ignore[no-untyped-def]
        out = propose(self, *args)
        proposed.append(len(out))
        return out

    monkeypatch.setattr(mod.MetaRLSampler, "_propose", counted)

    def sampler() -> MetaRLSampler:
        return MetaRLSampler(
            learner=ForestLearner(n_estimators=10), n_startup_trials=3, seed=0, batch_size=2
        )

    study = optuna.create_study(sampler=sampler())
    study.optimize(_stepped, n_trials=9)
    metarl = study.trials[3:]
    for t in study.trials:
        n, x = t.params["n"], t.params["x"]
        assert isinstance(n, int) and 1 <= n <= 2_000_001 and (n - 1) % 2 == 0
        assert -5.0 <= x <= 5.0 and abs((x + 5.0) / 0.001 - round((x + 5.0) / 0.001)) < 1e-8
    # the trials after the startup ones are metarl's own proposals (3 rounds of 2)
    assert proposed[:3] == [2, 2, 2] and len(metarl) == 6
    # a resumed run (same storage, a new sampler) replays the same next proposal
    storage = optuna.storages.InMemoryStorage()
    a = optuna.create_study(storage=storage, study_name="a", sampler=sampler())
    a.optimize(_stepped, n_trials=5)
    b = optuna.create_study(storage=storage, study_name="b", sampler=sampler())
    for t in a.trials:
        b.add_trial(t)
    a.optimize(_stepped, n_trials=1)
    b = optuna.load_study(study_name="b", storage=storage, sampler=sampler())
    b.optimize(_stepped, n_trials=1)
    assert a.trials[-1].params == b.trials[-1].params
