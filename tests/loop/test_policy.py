"""``"auto"``: which policy a search runs on a small and on a large space."""

from __future__ import annotations

import numpy as np

from metarl.agents import Exhaustive, LocalSearch
from metarl.learners import LinearLearner
from metarl.loop import History, initial_design, make_search_policy, refine, resolve_policy_name
from metarl.space import Categorical, Integer, SearchSpace, Subset

BIG = SearchSpace(
    {
        "features": Subset([f"f{i}" for i in range(30)], min_size=2),
        "model": Categorical(["svm", "knn"]),
        "k": Integer(1, 30, active_if={"model": ["knn"]}),
    }
)


def test_auto_is_exhaustive_up_to_enumerable_then_local_search() -> None:
    small = SearchSpace({"x": Integer(0, 9)})
    assert resolve_policy_name("auto", small) == "exhaustive"
    assert resolve_policy_name("auto", BIG) == "local_search"
    assert resolve_policy_name("auto", small, enumerable=5) == "local_search"
    assert resolve_policy_name("ppo", BIG) == "ppo"  # a name is itself
    policy = make_search_policy("auto", BIG, seed=0)
    assert isinstance(policy, LocalSearch) and (policy.acquisition, policy.kappa) == ("ucb", 2.0)
    assert make_search_policy("auto", BIG, transfer=True).acquisition == "mean"
    assert isinstance(make_search_policy("auto", small), Exhaustive)


def test_auto_rounds_on_a_large_space_propose_good_unseen_configs() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=BIG.encoded_width)

    def f(M: np.ndarray) -> np.ndarray:
        return BIG.encode_matrix(M).astype(np.float64) @ w

    M = initial_design(BIG, 40, rng)
    history = History(M, f(M))
    policy = make_search_policy("auto", BIG)
    rnd = refine(BIG, history, 4, learner=LinearLearner(), policy=policy, seed=0)
    assert rnd.record["origin"] == "LocalSearch" and len(rnd.configs) == 4
    assert not set(BIG.keys(rnd.M)) & set(BIG.keys(M))
    # minimised: the proposals beat every config of the history on the true function
    assert f(rnd.M).max() < f(M).min()
    again = refine(BIG, history, 4, learner=LinearLearner(), policy=policy, seed=0)
    assert again.configs == rnd.configs  # reseeded from the run's seed every round
