"""Behaviour of the shared helpers, the registry and each built-in policy."""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint

import numpy as np
import pytest

import metarl._registry
from metarl.agents import (
    Exhaustive,
    RandomPolicy,
    RegularizedEvolution,
    SearchPolicy,
    _registry,
    acquisition,
    available_policies,
    get_policy_class,
    make_policy,
    register_policy,
)
from metarl.agents._evolution import mutate
from metarl.agents._select import TopK, select_top
from metarl.space import Categorical, Integer, SearchSpace, SpaceError
from tests.agents.conftest import LinearLearner, fit_learner, objective


# ---------------------------------------------------------------------- acquisition
def test_acquisition_is_signed_higher_is_better(small_space, small_learner):
    X = small_space.encode_matrix(small_space.sample_matrix(50, 0))
    # scored on the learner's standardised target scale (monotone in the metric)
    mu, sd = (a[:, 0] for a in small_learner.predict_standardized(X, return_std=True))
    np.testing.assert_allclose(acquisition(small_learner, X, direction="minimize"), -mu)
    np.testing.assert_allclose(acquisition(small_learner, X, direction="maximize"), mu)
    ucb = acquisition(small_learner, X, "ucb", kappa=2.0)
    lcb = acquisition(small_learner, X, "lcb", kappa=2.0)
    np.testing.assert_allclose(ucb, -mu + 2 * sd)
    np.testing.assert_allclose(lcb, -mu - 2 * sd)


def test_acquisition_uses_the_chosen_target_of_a_multi_target_learner(small_space):
    M = small_space.sample_matrix(80, 0)
    X = small_space.encode_matrix(M)
    y = np.c_[objective(small_space, M), 3 * objective(small_space, M) + 1]
    learner = LinearLearner().fit(X, y)
    np.testing.assert_allclose(
        acquisition(learner, X, direction="maximize", target=1),
        learner.predict_standardized(X)[:, 1],
    )
    acq = acquisition(learner, X, direction="maximize", target=1)
    assert (np.diff(acq[np.argsort(learner.predict(X)[:, 1])]) >= -1e-9).all()  # monotone


def test_acquisition_rejects_bad_kind_and_direction(small_space, small_learner):
    X = small_space.encode_matrix(small_space.sample_matrix(5, 0))
    with pytest.raises(ValueError, match="acquisition must be one of 'mean', 'ucb', 'lcb'"):
        acquisition(small_learner, X, "pi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kappa"):
        acquisition(small_learner, X, "ucb", kappa=-1.0)
    with pytest.raises(ValueError, match="kappa"):
        make_policy("exhaustive", acquisition="ucb", kappa=float("inf"))
    with pytest.raises(ValueError, match="direction"):
        acquisition(small_learner, X, direction="down")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- selection
def test_select_top_dedupes_excludes_and_ranks(small_space):
    M = small_space.snap_to_grid(small_space.sample_matrix(200, 0))
    scores = np.arange(200, dtype=float)
    best = small_space.to_configs(M[-1:])
    out, s = select_top(small_space, M, scores, 5, exclude=best)
    assert len(out) == 5 and np.all(np.diff(s) <= 0)
    keys = small_space.keys(out)
    assert len(set(keys)) == 5 and small_space.keys(M[-1:])[0] not in keys


def test_select_top_prefers_diverse_proposals():
    space = SearchSpace({f"x{i}": Integer(0, 3) for i in range(4)})
    M = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 1], [3, 3, 3, 3]], dtype=float)
    scores = np.array([4.0, 3.0, 2.0, 1.0])
    plain, _ = select_top(space, M, scores, 2, min_distance=1)
    diverse, _ = select_top(space, M, scores, 2, min_distance=2)
    np.testing.assert_array_equal(plain[1], M[1])
    np.testing.assert_array_equal(diverse[1], M[2])
    # not enough diverse rows: the rest is filled by score
    full, _ = select_top(space, M, scores, 4, min_distance=4)
    assert len(full) == 4


def test_topk_keeps_a_bounded_pool(big_space):
    pool = TopK(big_space, 7, set())
    rng = np.random.default_rng(0)
    for _ in range(5):
        M = big_space.sample_matrix(1000, rng)
        pool.add(M, rng.random(1000))
    assert len(pool.M) == 7 and pool.best <= 1.0


# ---------------------------------------------------------------------- policies
def test_exhaustive_finds_the_exact_argmax(small_space, small_learner):
    all_M = np.concatenate(list(small_space.enumerate()))
    acq = acquisition(small_learner, small_space.encode_matrix(all_M))
    (best,) = Exhaustive(min_distance=1).propose(small_space, small_learner, 1)
    assert best == small_space.to_configs(all_M[[np.argmax(acq)]])[0]


@pytest.mark.parametrize("kind", ["mean", "ucb"])
def test_exhaustive_returns_the_exact_top_k_outside_the_exclusions(
    small_space, small_learner, kind
):
    all_M = np.concatenate(list(small_space.enumerate()))
    acq = acquisition(small_learner, small_space.encode_matrix(all_M), kind, kappa=2.0)
    ranked = small_space.to_configs(all_M[np.argsort(-acq, kind="stable")])
    policy = Exhaustive(acquisition=kind, kappa=2.0, min_distance=1)
    got = policy.propose(small_space, small_learner, 5, exclude=ranked[:2])
    assert got == ranked[2:7]  # the 3rd to 7th best, best first


def test_exhaustive_refuses_a_space_too_large(big_space, big_learner):
    with pytest.raises(SpaceError, match="surrogate_sampling"):
        Exhaustive().propose(big_space, big_learner, 1)


def test_surrogate_sampling_scores_every_sample_in_chunks(big_space, big_learner):
    p = make_policy("surrogate_sampling", n_samples=10_000, chunk_size=1000, seed=0)
    configs = p.propose(big_space, big_learner, 3)
    assert p.last_problem_.n_evaluations == 10_000
    rand = acquisition(big_learner, big_space.encode_matrix(big_space.sample_matrix(10_000, 1)))
    assert acquisition(big_learner, big_space.encode(configs)).min() > np.quantile(rand, 0.99)


def test_surrogate_sampling_on_a_torch_device_matches_the_numpy_path(big_space, big_learner):
    kw = {"n_samples": 20_000, "chunk_size": 4096, "seed": 0, "acquisition": "ucb"}
    on_device = make_policy("surrogate_sampling", device="cpu", **kw)
    configs = on_device.propose(big_space, big_learner, 3, exclude=[])
    assert on_device.last_problem_.n_evaluations >= 20_000
    big_space.validate(configs[0])
    found = acquisition(big_learner, big_space.encode(configs), "ucb")
    numpy_path = make_policy("surrogate_sampling", **kw).propose(big_space, big_learner, 3)
    reference = acquisition(big_learner, big_space.encode(numpy_path), "ucb")
    rand = acquisition(
        big_learner, big_space.encode_matrix(big_space.sample_matrix(20_000, 1)), "ucb"
    )
    assert found.min() > np.quantile(rand, 0.99)
    assert found.max() >= reference.min()


def test_surrogate_sampling_on_a_device_refuses_a_learner_without_torch_path(small_space):
    from metarl.learners import make_learner

    M = small_space.sample_matrix(30, 0)
    gp = make_learner("forest").fit(small_space.encode_matrix(M), objective(small_space, M))
    with pytest.raises(ValueError, match="no torch scoring path"):
        make_policy("surrogate_sampling", device="cpu", n_samples=100).propose(small_space, gp, 1)


def test_mutate_changes_one_parameter():
    space = SearchSpace({f"x{i}": Categorical(list("abcd")) for i in range(6)})
    M = space.sample_matrix(100, 0)
    child = mutate(space, M, np.random.default_rng(0))
    assert np.all((child != M).sum(axis=1) == 1)


def test_mutate_keeps_conditional_configs_valid(big_space):
    M = big_space.sample_matrix(200, 0)
    for _ in range(5):
        M = mutate(big_space, M, np.random.default_rng(1))
        big_space.to_matrix(big_space.to_configs(M))  # raises when invalid


def test_evolution_ask_tell_beats_its_random_start(big_space):
    def f(configs):
        return objective(big_space, big_space.to_matrix(configs))

    rea = RegularizedEvolution(population_size=8, tournament_size=3, seed=0)
    values = []
    for _ in range(100):
        configs = rea.ask(big_space)
        v = f(configs)
        rea.tell(big_space, configs, v)
        values += v.tolist()
    assert np.mean(values[-20:]) < np.mean(values[:8]) and min(values) < min(values[:8])
    assert len(rea.population_) == 8


def test_evolution_model_free_breeds_mutants_of_the_history(big_space):
    M = big_space.sample_matrix(30, 0)
    history = list(zip(big_space.to_configs(M), objective(big_space, M).tolist()))
    configs = make_policy("evolution", seed=0).propose(big_space, None, 5, history=history)
    # a child is one mutation from a member of the population: one parameter (or Subset
    # item) changed, plus the conditional parameters that change switches on or off; random
    # configs of this space differ from every history row in about a dozen columns
    K = np.where(np.isnan(M), np.inf, M)
    C = big_space.to_matrix(configs)
    C = np.where(np.isnan(C), np.inf, C)
    distance = (C[:, None, :] != K[None, :, :]).sum(axis=2).min(axis=1)
    assert len(configs) == 5 and np.all((distance >= 1) & (distance <= 3))


def test_evolution_beats_random_sampling_at_equal_learner_calls(big_space, big_learner):
    evolution = make_policy("evolution", n_evaluations=2000, seed=0)
    sampling = make_policy("surrogate_sampling", n_samples=2000, chunk_size=2000, seed=0)
    best = []
    for policy in (evolution, sampling):
        configs = policy.propose(big_space, big_learner, 5)
        assert policy.last_problem_.n_evaluations == 2000
        best.append(acquisition(big_learner, big_space.encode(configs)).max())
    assert best[0] > best[1]


def test_model_based_policy_needs_a_learner(small_space):
    with pytest.raises(ValueError, match="learner=None"):
        make_policy("surrogate_sampling").propose(small_space, None, 2)


def test_unfitted_learner_is_refused(small_space):
    with pytest.raises(ValueError, match="not fitted"):
        make_policy("exhaustive").propose(small_space, LinearLearner(), 2)


def test_random_policy_ignores_the_learner_but_checks_it(small_space, small_learner, big_learner):
    without = RandomPolicy(seed=0).propose(small_space, None, 3)
    assert RandomPolicy(seed=0).propose(small_space, small_learner, 3) == without
    with pytest.raises(ValueError, match="different space"):
        RandomPolicy().propose(small_space, big_learner, 3)


def test_tpe_learns_from_history(small_space):
    M = small_space.sample_matrix(15, 0)
    hist = list(zip(small_space.to_configs(M), objective(small_space, M).tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        configs = make_policy("tpe", seed=0).propose(
            small_space, None, 5, history=hist, exclude=[c for c, _ in hist]
        )
    # what TPE proposes is predicted better (lower) than the unexplored configs on average
    rest = np.concatenate(list(small_space.enumerate()))
    rest = rest[~np.isin(small_space.keys(rest), small_space.keys(M))]
    proposed = objective(small_space, small_space.to_matrix(configs))
    assert len(configs) == 5 and proposed.mean() < objective(small_space, rest).mean()


# ---------------------------------------------------------------------- registry
def test_unknown_policy_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown policy 'nope'.*exhaustive"):
        make_policy("nope")


def test_register_policy_and_refuse_non_policies():
    class Mine(RandomPolicy):
        pass

    register_policy("mine_test", Mine, overwrite=True)
    assert "mine_test" in available_policies()
    assert isinstance(make_policy("mine_test", seed=1), Mine)
    assert get_policy_class("mine_test") is Mine and get_policy_class("random") is RandomPolicy
    with pytest.raises(ValueError, match="nope"):
        get_policy_class("nope")
    with pytest.raises(TypeError, match="SearchPolicy"):
        register_policy("bad_test", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        register_policy("random", Mine)


def test_entry_point_policies_are_found(monkeypatch):
    ep = EntryPoint("from_ep_test", "metarl.agents._sampling:RandomPolicy", "metarl.policies")
    monkeypatch.setattr(_registry, "_REGISTRY", _registry._REGISTRY.copy())
    monkeypatch.setattr(metarl._registry, "entry_points", lambda group: [ep])
    policy = make_policy("from_ep_test", seed=0)
    assert isinstance(policy, SearchPolicy)


def test_make_policy_passes_keywords():
    p = make_policy("evolution", population_size=10, tournament_size=2)
    assert (p.population_size, p.tournament_size) == (10, 2)
    with pytest.raises(ValueError, match="tournament_size"):
        make_policy("evolution", population_size=4, tournament_size=5)


def test_fit_learner_helper_is_fitted(small_space):
    assert fit_learner(small_space).n_features_in_ == small_space.encoded_width


def test_grid_sampler_features_equal_the_space_encoding(big_space):
    from metarl.agents._sampling import GridSampler

    sampler = GridSampler(big_space)
    idx, act, X = sampler.sample(2000, np.random.default_rng(0))
    M = sampler.matrix(idx, act)
    big_space.to_matrix(big_space.to_configs(M))  # valid configs
    np.testing.assert_array_equal(X, big_space.encode_matrix(M))


def test_auto_policy_resolves_per_space_and_transfer(small_space, big_space):
    # the resolution lives with the refinement loop; what it builds are these policies
    from metarl.loop import default_policy_kwargs, make_search_policy, resolve_policy_name

    assert resolve_policy_name("auto", small_space) == "exhaustive"
    assert resolve_policy_name("auto", big_space, enumerable=10**6) == "local_search"
    assert resolve_policy_name("random", big_space) == "random"
    cold = make_search_policy("auto", small_space)
    assert isinstance(cold, Exhaustive) and (cold.acquisition, cold.kappa) == ("ucb", 2.0)
    assert make_search_policy("auto", small_space, transfer=True).acquisition == "mean"
    assert default_policy_kwargs("evolution") == {}
    assert make_search_policy("auto", small_space, {"acquisition": "lcb"}).acquisition == "lcb"
    # beyond the enumerable size: local search in a trust region, unless there is transfer
    # data (not measured there) or the caller says otherwise
    from metarl.agents import LocalSearch, TrustRegion

    big = make_search_policy("auto", big_space, enumerable=1000)
    assert isinstance(big, LocalSearch) and big.trust_region == TrustRegion()
    assert (big.acquisition, big.kappa) == ("ucb", 2.0)
    assert not make_search_policy("auto", big_space, enumerable=1000, transfer=True).trust_region
    mine = make_search_policy("auto", big_space, {"kappa": 0.5}, enumerable=1000)
    assert mine.trust_region == TrustRegion() and mine.kappa == 0.5
    off = make_search_policy("auto", big_space, {"trust_region": False}, enumerable=1000)
    assert not off.trust_region
    assert not make_search_policy("local_search", big_space).trust_region  # by name: as given
