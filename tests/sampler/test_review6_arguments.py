"""Review 6 F13: MetaRLSampler refuses a misspelt learner or policy name, or a policy keyword
the policy does not take, when it is built, as ``Study`` does (not after the startup trials,
real trainings spent)."""

from __future__ import annotations

import optuna
import pytest

from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"learner": "gpp"}, "'gpp'"),
        ({"policy": "exhastive"}, "'exhastive'"),
        ({"policy_kwargs": {"kapa": 1}}, "'kapa'"),
        ({"policy": "exhaustive", "policy_kwargs": {"kapa": 1}}, "'kapa'"),
        ({"policy": "local_search", "policy_kwargs": {"trust_regon": True}}, "'trust_regon'"),
        ({"transfer": {"a": "s"}, "policy_kwargs": {"acquisition": "ei"}}, "'ei'"),
    ],
)
def test_bad_learner_policy_or_policy_kwargs_are_refused_at_construction(
    kwargs: dict, named: str
) -> None:
    with pytest.raises(ValueError, match=named) as info:
        MetaRLSampler(seed=0, **kwargs)
    assert "\n" not in str(info.value)


def test_auto_takes_the_keywords_of_either_policy_it_may_run() -> None:
    # "auto" runs exhaustive search on a small space and local search on a large one: a
    # keyword of either passes (the space is known only once trials complete)
    for kwargs in ({"trust_region": False}, {"chunk_size": 1000}, {"kappa": 1.0}):
        assert MetaRLSampler(policy_kwargs=kwargs).policy_kwargs == kwargs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"policy_kwargs": {"kappa": 1.0}},
        {"policy": "ppo"},
        {"learner": "forest", "policy": "random"},
    ],
)
def test_good_arguments_still_run(kwargs: dict) -> None:
    sampler = MetaRLSampler(seed=0, n_startup_trials=2, **kwargs)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_int("n", 0, 9) - 3) ** 2, n_trials=3)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
