"""Review 6 F9: one MetaRLSampler reused for several studies (a loop over datasets, as is
common with Optuna's samplers) hands each study only proposals made from its own trials."""

from __future__ import annotations

from pathlib import Path

import optuna

from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _sampler() -> MetaRLSampler:
    return MetaRLSampler(
        learner=ForestLearner(n_estimators=10), policy="exhaustive", seed=0, batch_size=5
    )


def _towards(target: float):
    return lambda t: (t.suggest_float("x", 0.0, 1.0) - target) ** 2


def _twin_proposal(study: optuna.Study, n: int) -> dict:
    """What a fresh sampler proposes after ``study``'s first ``n`` trials."""
    twin = optuna.create_study(sampler=_sampler())
    twin.add_trials(study.trials[:n])
    twin.optimize(_towards(0.5), n_trials=1)
    return twin.trials[n].params


def test_a_second_study_gets_no_proposal_queued_for_the_first() -> None:
    sampler = _sampler()
    a = optuna.create_study(sampler=sampler)
    a.optimize(_towards(0.05), n_trials=11)  # 10 startup trials, one of a batch of 5
    b = optuna.create_study(sampler=sampler)  # the same number of trials, the same names
    b.optimize(_towards(0.95), n_trials=11)
    assert b.trials[10].params == _twin_proposal(b, 10)
    assert b.trials[10].params not in [t.params for t in a.trials]


def test_a_trial_left_open_in_one_study_lends_its_proposal_to_no_other() -> None:
    sampler = _sampler()
    a = optuna.create_study(sampler=sampler)
    a.optimize(_towards(0.05), n_trials=10)
    opened = a.ask()  # trial 10: a proposal of a's round, never told
    x_a = opened.suggest_float("x", 0.0, 1.0)
    b = optuna.create_study(sampler=sampler)
    b.optimize(_towards(0.95), n_trials=11)  # its trial 10 too
    assert b.trials[10].params == _twin_proposal(b, 10)
    assert b.trials[10].params["x"] != x_a


def test_the_same_study_loaded_again_keeps_its_queue(tmp_path: Path) -> None:
    # a study is its storage and name, not the Python object: a reloaded handle continues
    # the batch the sampler queued for it, as one uninterrupted run does
    url = f"sqlite:///{tmp_path / 'a.db'}"
    sampler = _sampler()
    first = optuna.create_study(storage=url, study_name="a", sampler=sampler)
    first.optimize(_towards(0.05), n_trials=11)
    again = optuna.load_study(storage=url, study_name="a", sampler=sampler)
    again.optimize(_towards(0.05), n_trials=2)
    straight = optuna.create_study(sampler=_sampler())
    straight.optimize(_towards(0.05), n_trials=13)
    assert [t.params for t in again.trials] == [t.params for t in straight.trials]
