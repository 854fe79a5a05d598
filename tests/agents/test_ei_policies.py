"""acquisition="ei" through every ScoredPolicy: the incumbent comes from propose's history;
the paths that have none (the design environments, hence PPO) refuse the kind."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.agents._scored import Problem
from metarl.envs import DesignEnv
from metarl.envs._contract import DesignEnvKwargs, make_design_vec_env
from metarl.learners import acquisition
from metarl.learners._acquisition import posterior_incumbent

from .conftest import objective


def history(space, n: int = 12, seed: int = 3) -> list[tuple[dict, float]]:
    M = space.sample_matrix(n, seed)
    return list(zip(space.to_configs(M), objective(space, M).tolist()))


def test_exhaustive_ei_is_the_exact_top_over_the_posterior_incumbent(small_space, small_learner):
    past = history(small_space)
    best = posterior_incumbent(small_learner, small_space.encode([c for c, _ in past]))
    all_M = np.concatenate(list(small_space.enumerate()))
    acq = acquisition(small_learner, small_space.encode_matrix(all_M), "ei", incumbent=best)
    ranked = small_space.to_configs(all_M[np.argsort(-acq, kind="stable")])
    policy = make_policy("exhaustive", acquisition="ei", min_distance=1)
    got = policy.propose(small_space, small_learner, 4, exclude=ranked[:1], history=past)
    assert got == ranked[1:5]
    assert policy.last_problem_.incumbent == pytest.approx(best)


def test_the_incumbent_follows_the_history_not_the_observed_values(small_space, small_learner):
    past = history(small_space)
    policy = make_policy("exhaustive", acquisition="ei")
    policy.propose(small_space, small_learner, 1, history=past)
    first = policy.last_problem_.incumbent
    # the same configs with shuffled values: the learner's posterior decides, not the draws
    shuffled = [(c, v) for (c, _), v in zip(past, np.random.default_rng(0).permutation(12))]
    policy.propose(small_space, small_learner, 1, history=shuffled)
    assert policy.last_problem_.incumbent == pytest.approx(first)
    policy.propose(small_space, small_learner, 1, history=past[:3])
    assert policy.last_problem_.incumbent <= first


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("surrogate_sampling", {"n_samples": 5000, "chunk_size": 1024}),
        ("surrogate_sampling", {"n_samples": 5000, "chunk_size": 1024, "device": "cpu"}),
        ("local_search", {}),
        ("local_search", {"trust_region": True}),
        ("evolution", {}),
    ],
)
def test_every_scored_policy_ranks_by_ei(big_space, big_learner, name, kwargs):
    past = history(big_space, n=20)
    policy = make_policy(name, acquisition="ei", seed=0, **kwargs)
    configs = policy.propose(big_space, big_learner, 3, history=past)
    best = posterior_incumbent(big_learner, big_space.encode([c for c, _ in past]))
    assert policy.last_problem_.incumbent == pytest.approx(best)
    got = acquisition(big_learner, big_space.encode(configs), "ei", incumbent=best)
    rand = big_space.encode_matrix(big_space.sample_matrix(2000, 9))
    assert got.min() > np.quantile(acquisition(big_learner, rand, "ei", incumbent=best), 0.9)


def test_ei_without_a_history_is_refused(small_space, small_learner):
    with pytest.raises(ValueError, match="acquisition 'ei' needs evaluated configs"):
        make_policy("exhaustive", acquisition="ei").propose(small_space, small_learner, 1)


def test_ei_needs_no_incumbent_without_a_learner(small_space):
    rng = np.random.default_rng(0)
    problem = Problem(small_space, None, 1, "minimize", set(), [], rng, acquisition="ei")
    assert problem.incumbent is None
    assert (problem.score(small_space.sample_matrix(3, 0)) == 0).all()


def test_the_design_environments_and_ppo_refuse_ei(small_space, small_learner):
    with pytest.raises(ValueError, match="acquisition 'ei' is not available in the design"):
        DesignEnv(small_space, small_learner, acquisition="ei")
    kwargs = DesignEnvKwargs(
        space=small_space,
        learner=small_learner,
        direction="minimize",
        acquisition="ei",
        kappa=1.0,
        exclude=[],
        render_mode=None,
    )
    with pytest.raises(ValueError, match="hence to the ppo policy"):
        make_design_vec_env(None, 2, 0, kwargs)


def test_ei_is_refused_where_it_cannot_run_in_one_line(small_space) -> None:
    from metarl.loop import make_search_policy

    with pytest.raises(ValueError, match="acquisition 'ei' is not available"):
        make_policy("ppo", acquisition="ei")  # when built, not after the initial design
    with pytest.raises(ValueError, match="transfer"):
        make_search_policy("auto", small_space, {"acquisition": "ei"}, transfer=True)
