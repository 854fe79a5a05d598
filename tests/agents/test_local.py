"""The built-in local search (``"local_search"``): hill climbing on the acquisition."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import LocalSearch, acquisition, make_policy, neighbours
from metarl.agents.testing import PolicyTestCase
from metarl.space import Categorical, Integer, SearchSpace, Subset
from tests.agents.conftest import fit_learner


class TestLocalSearch(PolicyTestCase):
    def make_policy(self, seed):
        return make_policy("local_search", n_initial=256, n_starts=4, seed=seed)


@pytest.fixture
def enum_space() -> SearchSpace:
    """~20,000 configs: a Subset with min_size, a condition, and numeric choices."""
    return SearchSpace(
        {
            "features": Subset([f"f{i}" for i in range(8)], min_size=3),
            "model": Categorical(["svm", "knn", "tree"]),
            "k": Integer(1, 30, bins=6, active_if={"model": ["knn"]}),
            "depth": Integer(1, 12, bins=6, active_if={"model": ["tree"]}),
            "lr": Categorical([0.001, 0.01, 0.1, 1.0], log=True),
        }
    )


def _exact(space, learner, direction="minimize"):
    M = np.concatenate(list(space.enumerate()))
    acq = acquisition(learner, space.encode_matrix(M), direction=direction)
    return M, acq


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_finds_the_exhaustive_argmax(enum_space, direction):
    learner = fit_learner(enum_space)
    M, acq = _exact(enum_space, learner, direction)
    for seed in range(3):
        p = make_policy("local_search", n_initial=64, n_starts=4, seed=seed)
        (best,) = p.propose(enum_space, learner, 1, direction=direction)
        got = acquisition(learner, enum_space.encode([best]), direction=direction)[0]
        assert got == pytest.approx(acq.max())
        # far fewer learner evaluations than the space holds
        assert p.last_problem_.n_evaluations < len(M) / 2


def test_climbs_above_its_starting_points(big_space, big_learner):
    p = make_policy("local_search", n_initial=512, n_starts=4, seed=0)
    (best,) = p.propose(big_space, big_learner, 1)
    start = acquisition(big_learner, big_space.encode_matrix(big_space.sample_matrix(512, 0)))
    assert acquisition(big_learner, big_space.encode([best]))[0] > start.max()


def test_seeded_replay_and_reseed(big_space, big_learner):
    def run(p):
        return p.propose(big_space, big_learner, 5)

    a = run(LocalSearch(n_initial=256, seed=3))
    assert run(LocalSearch(n_initial=256, seed=3)) == a
    p = LocalSearch(n_initial=256, seed=9)
    first = run(p)
    p.reseed(3)
    assert run(p) == a
    assert first == a  # the linear learner's optimum, whatever the start
    # the starts (max_steps=0: the best of the uniform sample) depend on the seed
    starts = [run(LocalSearch(n_initial=256, max_steps=0, seed=s)) for s in (3, 9)]
    assert starts[0] != starts[1]


def test_proposals_are_distinct_unseen_and_respect_min_size(enum_space):
    learner = fit_learner(enum_space)
    M, acq = _exact(enum_space, learner)
    top = enum_space.to_configs(M[np.argsort(-acq)[:20]])  # the best 20: all excluded
    p = make_policy("local_search", n_initial=64, n_starts=4, seed=0)
    configs = p.propose(enum_space, learner, 10, exclude=top)
    keys = enum_space.keys(enum_space.to_matrix(configs))
    assert len(configs) == len(set(keys)) == 10
    assert not set(keys) & set(enum_space.keys(enum_space.to_matrix(top)))
    assert all(len(c["features"]) >= 3 for c in configs)
    # still near the top: better than 99 % of the space
    got = acquisition(learner, enum_space.encode(configs))
    assert got.min() > np.quantile(acq, 0.99)


def test_keeps_to_a_focus(enum_space):
    learner = fit_learner(enum_space)
    focus = enum_space.restrict(
        fixed={"model": "knn"}, items={"features": {"include": ["f0"], "exclude": ["f7"]}}
    )
    configs = make_policy("local_search", n_initial=64, seed=0).propose(focus, learner, 6)
    assert focus.contains_matrix(focus.to_matrix(configs)).all()
    assert all(c["model"] == "knn" and "f0" in c["features"] for c in configs)
    M, acq = _exact(focus, learner)
    got = acquisition(learner, focus.encode(configs[:1]))[0]
    assert got == pytest.approx(acq.max())


def test_neighbours_change_one_decision_and_stay_valid(enum_space):
    rng = np.random.default_rng(0)
    M = enum_space.snap_to_grid(enum_space.sample_matrix(5, 0))
    N, origin = neighbours(enum_space, M, rng)
    assert len(N) and origin.max() == 4
    enum_space.to_matrix(enum_space.to_configs(N))  # valid configs (raises otherwise)
    differ = (np.nan_to_num(N, nan=-1) != np.nan_to_num(M[origin], nan=-1)).sum(axis=1)
    model = enum_space.column_slices["model"].start
    same_model = N[:, model] == M[origin, model]
    # a change of the model toggles its conditional children; any other changes one column
    assert (differ[same_model] == 1).all() and (differ >= 1).all()
    features = N[:, enum_space.column_slices["features"]]
    assert (features.sum(axis=1) >= 3).all()  # min_size kept
    # each row's neighbourhood: >= 5 item flips (those to "off" may break min_size), 2 other
    # models, 3 other lr values
    assert all((origin == i).sum() >= 5 + 2 + 3 for i in range(5))


def test_bad_hyperparameters_are_one_clear_error():
    with pytest.raises(ValueError, match="n_starts"):
        LocalSearch(n_starts=0)


def test_model_is_required(enum_space):
    with pytest.raises(ValueError):
        make_policy("local_search").propose(enum_space, None, 1)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_history_starts_are_the_best_evaluated_configs(enum_space, direction):
    from metarl.agents import Problem

    configs = enum_space.to_configs(enum_space.sample_matrix(6, seed=1))
    values = [0.5, 0.1, float("nan"), 0.9, 0.3, 0.7]
    history = list(zip(configs, values))
    problem = Problem(
        space=enum_space,
        learner=fit_learner(enum_space),
        n=1,
        direction=direction,
        exclude=set(),
        history=history,
        rng=np.random.default_rng(0),
    )
    p = LocalSearch(n_initial=8, n_starts=2, n_history_starts=2)
    best = p._best_evaluated(problem)
    want = [1, 4] if direction == "minimize" else [3, 5]  # the NaN (failed) row never
    np.testing.assert_array_equal(best, enum_space.to_matrix([configs[i] for i in want]))
    X, _ = p._starting_points(problem)
    assert len(X) == 4
    np.testing.assert_array_equal(X[2:], best)
    assert len(LocalSearch(n_history_starts=0)._best_evaluated(problem)) == 0
    with pytest.raises(ValueError, match="n_history_starts"):
        LocalSearch(n_history_starts=-1)
