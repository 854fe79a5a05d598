"""Policies and the design environment on a restricted space, with a learner fitted on the
parent's encodings: they work unchanged and propose only inside the focus."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.envs import DesignEnv
from metarl.learners import ForestLearner
from metarl.space import SearchSpace
from tests.space._focus import FOCUS, fit_learner, in_focus_by_hand, make_space


@pytest.fixture
def space() -> SearchSpace:
    return make_space()


@pytest.fixture
def sub(space: SearchSpace) -> SearchSpace:
    return space.restrict(**FOCUS)


@pytest.fixture
def learner(space: SearchSpace) -> ForestLearner:
    return fit_learner(space)


def test_exhaustive_proposes_the_best_of_the_focus(
    space: SearchSpace,
    sub: SearchSpace,
    learner: ForestLearner,
) -> None:
    proposals = make_policy("exhaustive").propose(sub, learner, 5)
    assert len(proposals) == 5 and all(in_focus_by_hand(c) for c in proposals)
    E = np.concatenate(list(sub.enumerate()))
    best = learner.predict(sub.encode_matrix(E)).min()
    assert learner.predict(space.encode(proposals[:1]))[0] == pytest.approx(best)
    # history outside the focus may be excluded: it is a config of the subspace's layout
    exclude = proposals[:2] + space.sample(20, seed=5)
    again = make_policy("exhaustive").propose(sub, learner, 5, exclude=exclude)
    assert all(in_focus_by_hand(c) for c in again)
    assert not any(c in exclude for c in again)


def test_random_proposes_inside_the_focus(
    sub: SearchSpace,
    learner: ForestLearner,
) -> None:
    for lrn in (None, learner):
        proposals = make_policy("random", seed=0).propose(sub, lrn, 20)
        assert len(proposals) == 20 and all(in_focus_by_hand(c) for c in proposals)
        assert len({sub.keys(sub.to_matrix([c]))[0] for c in proposals}) == 20


def test_design_env_builds_only_focus_configs(
    space: SearchSpace,
    sub: SearchSpace,
    learner: ForestLearner,
) -> None:
    env = DesignEnv(sub, learner)
    rng = np.random.default_rng(0)
    seen = set()
    for episode in range(60):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            valid = np.flatnonzero(env.action_masks())
            obs, _, done, _, info = env.step(int(rng.choice(valid)))
        config = info["config"]
        assert in_focus_by_hand(config)
        x = space.encode([config])
        np.testing.assert_array_equal(obs[: space.encoded_width], x[0])
        assert info["prediction"] == pytest.approx(learner.predict(x)[0])
        seen.add(str(config))
    assert len(seen) > 30
    # every config of the focus can be spelled, and reads back unchanged
    E = np.concatenate(list(sub.enumerate()))
    for row, seq in zip(E[::7], env.state.actions_for(E[::7])):
        env.reset()
        for a in seq:
            *_, info = env.step(a)
        assert info["config"] == sub.to_configs(row[None])[0]


def test_focus_key_is_what_the_policies_see(space: SearchSpace) -> None:
    d = {**space.to_dict(), "focus": FOCUS}
    assert SearchSpace.from_dict(d).cardinality == space.restrict(**FOCUS).cardinality
