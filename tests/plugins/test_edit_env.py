"""The repository's plug-in edit environment, used as an outside user would use it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers "envs/EditDesign-v0"
from metarl import Boolean, Categorical, Integer, SearchSpace
from metarl.agents import make_policy
from metarl.benchmarks import load_task
from metarl.learners import acquisition, make_learner

ENV_ID = "envs/EditDesign-v0"


@pytest.fixture(scope="module")
def fitted():
    task = load_task("hpolib/protein_structure", 0)
    M = task.space.sample_matrix(60, 0)
    y = task.sample_observations(M, np.random.default_rng(0))
    learner = make_learner("forest").fit(task.space.encode_matrix(M), y)
    return task, learner


@pytest.fixture(scope="module")
def conditional():
    space = SearchSpace(
        {
            "model": Categorical(["svm", "knn"]),
            "C": Integer(1, 8, active_if={"model": ["svm"]}),
            "k": Integer(1, 5, active_if={"model": ["knn"]}),
            "scale": Boolean(),
        }
    )
    M = space.sample_matrix(40, 1)
    X = space.encode_matrix(M)
    y = X.sum(axis=1) + np.random.default_rng(1).normal(0, 0.1, len(X))
    return space, make_learner("linear").fit(X, y)


def test_passes_both_env_checkers(fitted) -> None:
    task, learner = fitted
    env = gym.make(ENV_ID, space=task.space, learner=learner, direction="minimize")
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped)


@pytest.mark.parametrize(
    "kind, direction", [("mean", "minimize"), ("ucb", "minimize"), ("lcb", "maximize")]
)
def test_rewards_sum_to_the_library_acquisition_gain(fitted, kind, direction) -> None:
    """The env rewards the acquisition the policies rank proposals by (the learner's
    standardised scale), not the metric's own scale."""
    task, learner = fitted
    env = gym.make(
        ENV_ID,
        space=task.space,
        learner=learner,
        direction=direction,
        acquisition=kind,
        kappa=2.0,
    ).unwrapped
    env.reset(seed=3)
    start = env._value
    total, term, info = 0.0, False, {}
    rng = np.random.default_rng(0)
    while not term:
        _, r, term, _, info = env.step(int(rng.integers(env.action_space.n)))
        total += r
    X = task.space.encode([info["config"]])
    acq = float(acquisition(learner, X, kind, kappa=2.0, direction=direction)[0])
    assert info["acquisition"] == pytest.approx(acq)
    assert info["prediction"] == pytest.approx(float(learner.predict(X)[0]))
    assert total * env.scale == pytest.approx(acq - start)
    assert env._t == env.horizon == len(task.space.decisions)


def test_conditions_masks_and_invalid_actions(conditional) -> None:
    space, learner = conditional
    env = gym.make(ENV_ID, space=space, learner=learner, direction="maximize").unwrapped
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    for _ in range(50):
        masks = env.action_masks()
        config = space.to_configs(env._config_matrix())[0]
        space.validate(config)
        inactive = "k" if config["model"] == "svm" else "C"
        blocked = np.flatnonzero(~masks)
        # exactly the inactive parameter's actions are masked
        assert set(env._act_param[blocked]) == {space.names.index(inactive)}
        assert inactive not in {space.names[i] for i in env._act_param[masks]}
        before = env._full.copy()
        env.step(int(blocked[0]))  # ignoring the mask leaves the config unchanged
        assert np.array_equal(env._full, before)
        _, _, term, _, _ = env.step(int(np.flatnonzero(masks)[env.np_random.integers(masks.sum())]))
        if term:
            env.reset()


@pytest.mark.slow
def test_ppo_in_the_edit_env_proposes_valid_new_configs(fitted) -> None:
    task, learner = fitted
    space = task.space
    evaluated = space.sample(20, seed=5)
    policy = make_policy(
        "ppo",
        env_id=ENV_ID,
        timesteps=256,
        n_envs=4,
        n_samples=32,
        batch_size=64,
        acquisition="ucb",
        kappa=2.0,
        seed=0,
    )
    proposals = policy.propose(space, learner, 4, direction="minimize", exclude=evaluated)
    env = policy.model_.get_env().envs[0].unwrapped  # built through the plug-in contract
    assert (env.acquisition, env.kappa, env.direction) == ("ucb", 2.0, "minimize")
    assert len(proposals) == 4
    keys = space.keys(space.to_matrix(proposals))  # validates every proposal
    assert len(set(keys)) == 4
    assert not set(keys) & set(space.keys(space.to_matrix(evaluated)))
    # ranked best first by the acquisition the env rewarded
    acq = acquisition(learner, space.encode(proposals), "ucb", kappa=2.0)
    assert np.all(np.diff(acq) <= 1e-12)


def test_bad_input(fitted) -> None:
    with pytest.raises(TypeError, match="SearchSpace"):
        gym.make(ENV_ID, space={"x": 1}, learner=None)
    task, learner = fitted
    with pytest.raises(ValueError, match="acquisition must be one of"):
        gym.make(ENV_ID, space=task.space, learner=learner, acquisition="pi")
    with pytest.raises(ValueError, match="acquisition 'ei' needs incumbent="):  # none given
        gym.make(ENV_ID, space=task.space, learner=learner, acquisition="ei")
    with pytest.raises(ValueError, match="kappa"):
        gym.make(ENV_ID, space=task.space, learner=learner, acquisition="ucb", kappa=-1)
