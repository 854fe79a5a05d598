"""Policies that sample or mutate Subsets themselves, and the design env's min_size masks,
on a focus that fixes Subset items (needs the fixes in envs/_state.py, agents/_sampling.py
and agents/_evolution.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.envs import DesignEnv
from metarl.learners import ForestLearner
from metarl.space import Categorical, Float, SearchSpace, Subset

FOCUSES = [
    {"ranges": {"x": [0.3, 0.8]}, "items": {"s": {"exclude": ["t", "s"]}}},  # last items off
    {"items": {"s": {"include": ["t"], "exclude": ["p"]}}},  # last item on
]


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        {
            "m": Categorical(["a", "b"]),
            "x": Float(0.0, 1.0, bins=8),
            "s": Subset(list("pqrst"), min_size=2),
        }
    )


@pytest.fixture
def learner(space: SearchSpace) -> ForestLearner:
    X = space.encode_matrix(space.sample_matrix(200, seed=0))
    return ForestLearner(n_estimators=20, random_state=0).fit(X, np.sin(3 * X).sum(axis=1))


@pytest.mark.parametrize("focus", FOCUSES)
@pytest.mark.parametrize("name", ["surrogate_sampling", "evolution"])
def test_sampling_policies_keep_to_fixed_items(space, learner, focus, name) -> None:
    sub = space.restrict(**focus)
    kwargs = {"n_samples": 5000} if name == "surrogate_sampling" else {"n_evaluations": 2000}
    proposals = make_policy(name, seed=0, **kwargs).propose(sub, learner, 8)
    assert sub.contains_matrix(sub.to_matrix(proposals)).all()


@pytest.mark.parametrize("focus", FOCUSES)
def test_design_env_masks_keep_min_size_with_fixed_items(space, learner, focus) -> None:
    sub = space.restrict(**focus)
    env = DesignEnv(sub, learner)
    rng = np.random.default_rng(0)
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a step with no valid action divides by zero
        for episode in range(300):
            env.reset(seed=episode)
            done = False
            while not done:
                valid = np.flatnonzero(env.action_masks())
                assert len(valid) > 0
                _, _, done, _, info = env.step(int(rng.choice(valid)))
            assert sub.contains(info["config"])
            seen.add(str(info["config"]))
    assert len(seen) > 0.8 * min(sub.cardinality, 300)
