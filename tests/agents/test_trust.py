"""The trust region of local search: its distance, its radius schedule, and a search that
keeps to it."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import LocalSearch, TrustRegion, acquisition
from metarl.agents._trust import (
    decision_weights,
    encoded_distance,
    incumbent_row,
    region_of,
    sample_around,
)
from metarl.space import Categorical, Float, Integer, SearchSpace, Subset
from tests.agents.conftest import fit_learner, objective

NAN = float("nan")


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        {
            "features": Subset([f"f{i}" for i in range(10)], min_size=2),
            "model": Categorical(["svm", "knn", "tree"]),
            "k": Integer(1, 31, bins=4, active_if={"model": ["knn"]}),
            "lr": Float(1e-3, 1.0, log=True, bins=4),
        }
    )


def _distance(space, a, b):
    X = space.encode([a, b])
    return float(encoded_distance(X[1:], X[0], decision_weights(space))[0])


def test_one_change_of_a_decision_counts_at_most_one(space):
    base = {"features": ("f0", "f1"), "model": "svm", "lr": 1e-3}
    assert _distance(space, base, base | {"model": "tree"}) == pytest.approx(1.0)
    assert _distance(space, base, base | {"features": ("f0", "f1", "f2")}) == pytest.approx(1.0)
    assert _distance(space, base, base | {"lr": 1.0}) == pytest.approx(1.0)  # end to end
    assert _distance(space, base, base | {"lr": 0.01}) == pytest.approx(1 / 3)  # one of 3 steps
    # switching to knn also activates k: the model, k's presence and k's position
    knn = base | {"model": "knn", "k": 1}
    assert _distance(space, base, knn) == pytest.approx(2.0)


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_radius_schedule(direction):
    tr = TrustRegion(init=0.2, fail_tol=2, succ_tol=2, warmup=3)
    s = 1.0 if direction == "maximize" else -1.0
    up = [s * v for v in (1, 2, 3)]  # warmup: sets the best (3), nothing else
    assert tr.radius([], direction, 50) == float("inf")
    assert tr.radius(up, direction, 50) == pytest.approx(10.0)
    assert tr.radius(up + [s * 0, NAN, s * 1], direction, 50) == pytest.approx(5.0)  # 2 fails
    assert tr.radius(up + [s * 4, s * 5], direction, 50) == pytest.approx(20.0)  # 2 successes
    rising = up + [s * v for v in range(4, 12)]
    assert tr.radius(rising, direction, 50) == pytest.approx(50.0)  # capped at every decision
    # halved below min_radius (0.5): one round on the whole space, then the initial radius
    fails = up + [s * 0] * 10
    assert tr.radius(fails, direction, 50) == float("inf")
    assert tr.radius(fails + [s * 0], direction, 50) == pytest.approx(10.0)
    assert TrustRegion(init=0.2).radius([1.0] * 11, direction, 3) == pytest.approx(1.0)  # >= 1


def test_recentre_after_a_restart():
    values = [1.0, 2.0, 3.0] + [0.0] * 10  # warmup 3, then failures down to a restart
    plain = TrustRegion(init=0.2, fail_tol=2, warmup=3)
    moved = TrustRegion(init=0.2, fail_tol=2, warmup=3, recentre=True)
    assert plain.state(values, "maximize", 50) == (float("inf"), 0)
    assert moved.state(values, "maximize", 50) == (float("inf"), 0)
    # the global round's result starts a new region, centred on the best from there on
    after = values + [0.5, NAN, 0.7]
    assert moved.state(after, "maximize", 50) == (pytest.approx(10.0), 13)  # 0.7: a success
    assert plain.state(after, "maximize", 50) == (pytest.approx(5.0), 0)  # 2 failures below 3


def test_bad_settings_are_one_clear_error():
    with pytest.raises(ValueError, match="init"):
        TrustRegion(init=0)
    with pytest.raises(ValueError, match="min_radius"):
        TrustRegion(min_radius=0)
    with pytest.raises(TypeError):
        LocalSearch(trust_region={"radius": 3})
    with pytest.raises(TypeError, match="trust_region must be"):
        LocalSearch(trust_region=0.3)


def test_sample_around_changes_at_most_k_decisions(space):
    centre = space.to_matrix([{"features": ("f0", "f1", "f2"), "model": "svm", "lr": 0.1}])
    M = sample_around(space, centre, 500, 2, np.random.default_rng(0))
    assert len(M) > 400
    space.to_matrix(space.to_configs(M))  # valid configs (raises otherwise)
    X, c = space.encode_matrix(M), space.encode_matrix(centre)[0]
    d = encoded_distance(X, c, decision_weights(space))
    assert d.max() <= 2 + 2 + 1e-6  # 2 decisions; the model's may add k (flag + position)
    same = np.array(space.keys(M)) == space.keys(centre)[0]  # a change may redraw a value
    assert not same.any()
    assert (M[:, space.column_slices["features"]].sum(axis=1) >= 2).all()


def _history(space, n, seed=0):
    M = space.sample_matrix(n, seed)
    return list(zip(space.to_configs(M), (-objective(space, M)).tolist()))


def test_incumbent_is_the_best_result_inside_the_space(space):
    history = _history(space, 20)
    best = max(range(20), key=lambda i: history[i][1])
    np.testing.assert_array_equal(
        incumbent_row(space, history, "maximize"), space.to_matrix([history[best][0]])
    )
    focus = space.restrict(fixed={"model": "tree"})
    inside = [i for i in range(20) if history[i][0]["model"] == "tree"]
    want = max(inside, key=lambda i: history[i][1])
    np.testing.assert_array_equal(
        incumbent_row(focus, history, "maximize"), focus.to_matrix([history[want][0]])
    )
    assert incumbent_row(space, [(history[0][0], NAN)], "maximize") is None


def test_local_search_keeps_to_the_region(space):
    learner = fit_learner(space)
    history = _history(space, 14)
    tr = TrustRegion(init=0.15, warmup=10)
    region = region_of(space, history, "minimize", tr)
    assert region is not None and 0.5 <= region.radius < 2.0
    p = LocalSearch(n_initial=256, n_starts=4, trust_region=tr, seed=0)
    configs = p.propose(space, learner, 2, direction="minimize", history=history)
    X = space.encode(configs)
    assert region.inside(X).all()
    # the whole space holds better configs of the acquisition: the region is a real limit
    free = LocalSearch(n_initial=256, n_starts=4, seed=0)
    best_free = free.propose(space, learner, 1, direction="minimize", history=history)
    a = acquisition(learner, space.encode(best_free + configs[:1]), direction="minimize")
    assert a[0] > a[1]
    assert not region.inside(space.encode(best_free))[0]
    # seeded replay
    again = LocalSearch(n_initial=256, n_starts=4, trust_region=tr, seed=0)
    assert again.propose(space, learner, 2, direction="minimize", history=history) == configs


def test_no_history_searches_the_whole_space(space):
    learner = fit_learner(space)
    a = LocalSearch(n_initial=128, trust_region=True, seed=1).propose(space, learner, 3)
    b = LocalSearch(n_initial=128, seed=1).propose(space, learner, 3)
    assert a == b


def test_settings_from_a_dict(space):
    p = LocalSearch(trust_region={"init": 0.1, "fail_tol": 5})
    assert p.trust_region == TrustRegion(init=0.1, fail_tol=5)
    assert LocalSearch(trust_region=True).trust_region == TrustRegion()
    assert not LocalSearch().trust_region


def test_a_fidelity_centre_is_at_full_fidelity_and_auto_keeps_out() -> None:
    from metarl.loop import make_search_policy
    from metarl.space import Fidelity

    space = SearchSpace(
        {
            "features": Subset([f"f{i}" for i in range(24)]),
            "model": Categorical(["svm", "knn", "tree"]),
            "subsample": Fidelity(0.1, 1.0),
        }
    )
    history = [
        ({"features": ("f0", "f1"), "model": "svm", "subsample": 0.1}, 0.9),
        ({"features": ("f2",), "model": "knn", "subsample": 1.0}, 0.5),
    ]
    row = incumbent_row(space, history, "maximize")
    assert space.to_configs(row)[0]["subsample"] == 1.0  # the best, at the design's level
    assert space.to_configs(row)[0]["model"] == "svm"
    policy = make_search_policy("auto", space, enumerable=1000)
    assert isinstance(policy, LocalSearch) and not policy.trust_region  # not measured there


def test_a_small_region_still_gives_the_batch_asked_for() -> None:
    """At a radius under two decisions the region holds the centre's single changes: a
    batch of 10 comes from them, and where they run short, from the whole space after."""
    space = SearchSpace(
        {
            "features": Subset([f"f{i}" for i in range(24)]),
            "model": Categorical(["svm", "knn", "tree"]),
            "wide": Categorical([False, True]),
        }
    )
    learner = fit_learner(space)
    history = _history(space, 27)
    tr = TrustRegion(init=0.06, warmup=27)  # 1.56 decisions
    region = region_of(space, history, "minimize", tr)
    assert region is not None and 1.0 <= region.radius < 2.0
    p = LocalSearch(trust_region=tr, seed=0)
    configs = p.propose(space, learner, 10, direction="minimize", history=history)
    assert len(configs) == 10
    assert region.inside(space.encode(configs)).all()  # ~26 single changes: enough
    many = p.propose(space, learner, 40, direction="minimize", history=history)
    inside = region.inside(space.encode(many))
    assert len(many) == 40 and inside[:10].all() and not inside.all()  # the region's first
