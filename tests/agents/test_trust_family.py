"""Two answers to a search stuck on one model family: the trust region's family rotation
(``TrustRegion(family_after=N)``) and local search hedged with a model-free policy
(``LocalSearch(hedge="tpe")``)."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import LocalSearch, TrustRegion
from metarl.agents._trust import family_param, region_of
from metarl.space import Categorical, Float, Integer, SearchSpace, Subset
from tests.agents.conftest import fit_learner

NAN = float("nan")


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        {
            "features": Subset([f"f{i}" for i in range(16)], min_size=1),
            "scaler": Categorical(["none", "std"]),  # unconditional, no children
            "model": Categorical(["svm", "knn", "tree"]),
            "C": Float(1e-2, 1e2, log=True, bins=5, active_if={"model": ["svm"]}),
            "k": Integer(1, 31, bins=4, active_if={"model": ["knn"]}),
            "depth": Integer(1, 12, bins=4, active_if={"model": ["tree"]}),
        }
    )


def _config(model: str, i: int) -> dict:
    extra = {"svm": {"C": 1.0}, "knn": {"k": 11}, "tree": {"depth": 4}}[model]
    return {"features": (f"f{i % 16}",), "scaler": "none", "model": model} | extra


def _stuck_history(n_stalled: int) -> list[tuple[dict, float]]:
    """10 warm-up results (svm best 0.9, tree 0.8, knn 0.7), then ``n_stalled`` svm
    results below 0.9."""
    warm = [("svm", 0.9), ("tree", 0.8), ("knn", 0.7)] + [("knn", 0.1 * i) for i in range(7)]
    rows = [(_config(m, i), v) for i, (m, v) in enumerate(warm)]
    return rows + [(_config("svm", 20 + i), 0.5) for i in range(n_stalled)]


def test_the_family_is_the_categorical_others_depend_on(space):
    assert family_param(space) == "model"
    flat = SearchSpace({"a": Categorical(["x", "y"]), "b": Integer(1, 9)})
    assert family_param(flat) is None


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_stalled_counts_results_since_the_best(direction):
    s = 1.0 if direction == "maximize" else -1.0
    tr = TrustRegion(warmup=3)
    assert tr.stalled([], direction) == 0
    assert tr.stalled([s * v for v in (1, 3, 2)], direction) == 0  # still the warm-up
    assert tr.stalled([s * v for v in (1, 3, 2, 0, NAN, 1)], direction) == 2  # NaN skipped
    assert tr.stalled([s * v for v in (1, 3, 2, 0, 4, 1)], direction) == 1
    assert tr.stalled([s * v for v in (1, 3, 2, 0, 4, 4)], direction) == 1  # a tie: no gain


def test_a_stalled_region_rotates_over_the_other_families(space):
    tr = TrustRegion(family_after=4)
    plain = region_of(space, _stuck_history(3), "maximize", tr)
    assert plain is not None and plain.keep is None
    assert space.to_configs(plain.centre)[0]["model"] == "svm"  # the incumbent
    # 4, 5, 6, 7 results without a gain: tree (second best), knn, svm, tree, each kept
    want = ["tree", "knn", "svm", "tree"]
    for n, model in zip(range(4, 8), want):
        region = region_of(space, _stuck_history(n), "maximize", tr)
        centre = space.to_configs(region.centre)[0]
        assert region.keep == "model" and centre["model"] == model
        assert centre == _config(model, 0 if model == "svm" else {"tree": 1, "knn": 2}[model])
        others = [_config(m, 3) for m in ("svm", "knn", "tree") if m != model]
        assert not region.inside(space.encode(others)).any()  # one change, other family
        assert region.inside(space.encode([_config(model, 3)])).all()
    # a result that improves the best ends the rotation
    better = _stuck_history(6) + [(_config("knn", 5), 0.95)]
    assert region_of(space, better, "maximize", tr).keep is None
    # off by default
    assert region_of(space, _stuck_history(9), "maximize", TrustRegion()).keep is None


def test_local_search_keeps_to_the_rotated_family(space):
    learner = fit_learner(space)
    history = _stuck_history(8)  # batches of 4: the rotation's second round, knn
    policy = LocalSearch(n_initial=256, trust_region=TrustRegion(family_after=4), seed=0)
    configs = policy.propose(space, learner, 4, direction="maximize", history=history)
    assert len(configs) == 4 and {c["model"] for c in configs} == {"knn"}
    free = LocalSearch(n_initial=256, trust_region=True, seed=0)
    assert {
        c["model"] for c in free.propose(space, learner, 4, direction="maximize", history=history)
    } != {"knn"}


def test_bad_family_after_is_one_clear_error():
    with pytest.raises(ValueError, match="family_after"):
        TrustRegion(family_after=-1)


def test_hedge_rounds_come_from_the_model_free_policy(space):
    """Every other round (with one config a round: after an odd number of results) is
    TPE's: the learner does not change it; the other rounds are the climb's, as without a
    hedge."""
    history = _stuck_history(1)  # 11 results: a hedge round of hedge_every=2
    a, b = fit_learner(space, seed=0), fit_learner(space, seed=1)

    def propose(learner, hist, **kw):
        p = LocalSearch(n_initial=256, trust_region=True, seed=3, **kw)
        return p.propose(space, learner, 1, direction="maximize", history=hist)

    hedged = propose(a, history, hedge="tpe")
    assert hedged == propose(b, history, hedge="tpe")  # TPE ignores the learner
    assert hedged != propose(a, history)
    assert propose(a, history, hedge="tpe") == hedged  # seeded replay
    even = history[:-1]  # 10 results: the climb's round
    assert propose(a, even, hedge="tpe") == propose(a, even)
    # hedge_every=3: the rounds after 2, 5, 8, 11 ... results
    assert propose(a, even, hedge="tpe", hedge_every=3) == propose(a, even)
    assert propose(b, history, hedge="tpe", hedge_every=3) == propose(
        a, history, hedge="tpe", hedge_every=3
    )


def test_bad_hedge_is_one_clear_error():
    with pytest.raises(ValueError, match="model-free"):
        LocalSearch(hedge="local_search")
    with pytest.raises(ValueError, match="hedge_every"):
        LocalSearch(hedge="tpe", hedge_every=1)
    with pytest.raises(ValueError, match="unknown|valid"):
        LocalSearch(hedge="nope")


def test_hedge_proposals_are_new_configs(space, monkeypatch):
    history = _stuck_history(5)  # batches of 5 from 10 results: the first is the hedge's
    import metarl.agents._local as local_module

    calls = []
    hedged = local_module._hedged
    monkeypatch.setattr(local_module, "_hedged", lambda *a: calls.append(1) or hedged(*a))
    policy = LocalSearch(n_initial=64, hedge="tpe", seed=0)
    seen = [c for c, _ in history]
    configs = policy.propose(
        space, fit_learner(space), 5, direction="maximize", exclude=seen, history=history
    )
    keys = set(space.keys(space.to_matrix(seen)))
    assert len(configs) == 5 and not keys & set(space.keys(space.to_matrix(configs)))
    np.testing.assert_equal(len({tuple(sorted(c.items())) for c in configs}), 5)
    assert calls == [1]  # the hedge's round
