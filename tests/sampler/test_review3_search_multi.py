"""Review 3 (search): MetaRLSampler on a multi-objective study says, once, that it falls
back to its independent sampler."""

from __future__ import annotations

import warnings

import optuna
import pytest

from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _two(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    return x**2, (x - 1.0) ** 2


def test_multi_objective_warns_once_that_it_falls_back_to_the_independent_sampler() -> None:
    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=MetaRLSampler(seed=0, n_startup_trials=2)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(_two, n_trials=5)
    ours = [w for w in caught if "MetaRLSampler" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert issubclass(ours[0].category, UserWarning)
    assert "multi-objective" in str(ours[0].message)
    assert "independent sampler" in str(ours[0].message)
    assert len(study.trials) == 5


@pytest.mark.parametrize("directions", [["minimize"]])
def test_single_objective_does_not_warn(directions: list[str]) -> None:
    study = optuna.create_study(
        directions=directions, sampler=MetaRLSampler(seed=0, n_startup_trials=20)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert not [w for w in caught if "multi-objective" in str(w.message)]
