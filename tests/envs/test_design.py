"""DesignEnv and DesignState: spelling configs, masks, rewards, checkers, errors."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from sklearn.exceptions import NotFittedError
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from metarl.envs import DesignEnv, DesignState
from metarl.space import Categorical, SearchSpace, SpaceError, Subset
from tests.envs.conftest import LinearLearner, conditional_space, fit_learner, flat_space


def run(env: DesignEnv, actions: list[int]) -> tuple[np.ndarray, float, dict]:
    obs, _ = env.reset()
    for i, a in enumerate(actions):
        obs, r, term, trunc, info = env.step(a)
        assert term == (i == len(actions) - 1) and not trunc
    return obs, r, info


def all_configs(space: SearchSpace) -> np.ndarray:
    return np.concatenate(list(space.enumerate()))


def test_checkers_pass(space, learner):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("metarl/Design-v0", space=space, learner=learner).unwrapped
        gym_check_env(env)
        sb3_check_env(DesignEnv(space, learner))


def test_gym_make_registered(space, learner):
    env = gym.make("metarl/Design-v0", space=space, learner=learner, acquisition="ucb")
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert env.unwrapped.acquisition == env.unwrapped.reward.acquisition == "ucb"
    assert env.get_wrapper_attr("action_masks")().shape == (env.action_space.n,)


def test_action_sequences_spell_every_config(space, learner):
    env = DesignEnv(space, learner)
    M = all_configs(space)
    configs = space.to_configs(M)
    seqs = env.state.actions_for(M)
    for cfg, seq, row in zip(configs, seqs, M):
        assert env.actions_for(cfg) == seq
        obs, _, info = run(env, seq)
        assert info["config"] == cfg
        np.testing.assert_array_equal(env.state.matrix(), row[None])
        # the finished observation's encoding block is exactly space.encode of the config
        np.testing.assert_array_equal(obs[: space.encoded_width], space.encode_matrix(row[None])[0])
        assert obs[space.encoded_width + len(env.state.decisions) :].sum() == 0  # no step left


def test_masks_allow_exactly_the_valid_choices(space, learner):
    """Oracle: the next actions of every enumerated config that shares the prefix."""
    env = DesignEnv(space, learner)
    seqs = [tuple(s) for s in env.state.actions_for(all_configs(space))]
    nexts: dict[tuple[int, ...], set[int]] = {}
    for s in seqs:
        for k in range(len(s)):
            nexts.setdefault(s[:k], set()).add(s[k])
    for s in seqs:
        env.reset()
        for k, a in enumerate(s):
            assert set(np.flatnonzero(env.action_masks())) == nexts[s[:k]], s[:k]
            env.step(a)
    assert len(set(seqs)) == space.cardinality


def test_subset_min_size_masks_off_when_items_are_needed():
    space = SearchSpace({"f": Subset(["a", "b", "c"], min_size=2)})
    env = DesignEnv(space, fit_learner(space, n=20))
    env.reset()
    env.step(0)  # a off: b and c are both needed now
    assert env.action_masks().tolist() == [False, True]
    obs, r, term, _, info = env.step(0)  # masked: mapped to the only valid option, "on"
    assert env.action_masks().tolist() == [False, True]
    _, _, term, _, info = env.step(1)
    assert term and info["config"] == {"f": ("b", "c")}


def test_invalid_actions_map_to_the_nth_valid_option():
    space = SearchSpace({"a": Categorical(["x", "y", "z", "w", "v"]), "b": Categorical([1, 2])})
    env = DesignEnv(space, fit_learner(space, n=30))
    for a, expect in [(1, 1), (7, 1), (-1, 1), (-2, 0), (10**9, 0)]:
        env.reset()
        env.step(0)  # decision "a" has 5 options; now "b" offers 2 of 5 actions
        *_, info = env.step(a)
        assert info["config"]["b"] == [1, 2][expect], a
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


@pytest.mark.parametrize("precompute", [None, False])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("kind", ["mean", "ucb", "lcb"])
def test_terminal_reward_is_the_scaled_acquisition(direction, kind, precompute):
    space = conditional_space()
    learner = fit_learner(space)
    env = DesignEnv(
        space, learner, direction=direction, acquisition=kind, kappa=2.0, precompute=precompute
    )
    assert env.reward.has_table == (precompute is None)
    rng = np.random.default_rng(0)
    rewards = []
    for _ in range(20):
        env.reset()
        done = False
        while not done:
            _, r, done, _, info = env.step(rng.integers(env.action_space.n))
            assert done or r == 0.0
        X = space.encode([info["config"]])
        mu, sd = learner.predict(X, return_std=True)
        z_mu, z_sd = learner.predict_standardized(X, return_std=True)  # acquisition scale
        s = -1.0 if direction == "minimize" else 1.0
        acq = s * z_mu[0, 0] + {"mean": 0.0, "ucb": 2.0, "lcb": -2.0}[kind] * z_sd[0, 0]
        assert info["prediction"] == pytest.approx(mu[0], rel=1e-5, abs=1e-6)
        assert info["std"] == pytest.approx(sd[0], rel=1e-5, abs=1e-6)
        assert info["acquisition"] == pytest.approx(acq, rel=1e-5, abs=1e-6)
        scaled = (acq - env.reward_offset_) / env.reward_scale_
        assert r == pytest.approx(scaled, rel=1e-4, abs=1e-4)
        rewards.append(r)
    assert -1.5 < np.mean(rewards) < 1.5  # standardised: a random policy is about N(0, 1)


def test_reward_is_the_old_name_of_acquisition_and_warns():
    space = flat_space()
    learner = fit_learner(space)
    with pytest.warns(FutureWarning, match="reward= was renamed acquisition="):
        old = gym.make("metarl/Design-v0", space=space, learner=learner, reward="lcb", kappa=2.0)
    new = DesignEnv(space, learner, acquisition="lcb", kappa=2.0)
    assert old.unwrapped.acquisition == "lcb"
    assert old.unwrapped.reward_offset_ == new.reward_offset_
    assert old.unwrapped.reward_scale_ == new.reward_scale_


def test_reference_scaling_and_fixed_scaling():
    space = flat_space()
    learner = fit_learner(space)
    env = DesignEnv(space, learner, n_reference=4096)
    M = space.snap_to_grid(space.sample_matrix(4096, seed=5))
    acq = -learner.predict_standardized(space.encode_matrix(M))[:, 0]
    z = (acq - env.reward_offset_) / env.reward_scale_
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1.0) < 0.1
    fixed = DesignEnv(space, learner, reward_offset=1.0, reward_scale=2.0)
    assert (fixed.reward_offset_, fixed.reward_scale_) == (1.0, 2.0)


def test_constraints_cap_infeasible_configs():
    space = flat_space()
    learner = fit_learner(space, k=2)
    env = DesignEnv(space, learner, constraints={"train_time": ("<=", 0.0)})
    free = DesignEnv(space, learner)
    seen = set()
    for seq in env.state.actions_for(all_configs(space))[::7]:
        _, r, info = run(env, seq)
        _, r_free, _ = run(free, seq)
        feasible = info["predictions"]["train_time"] <= 0.0
        assert info["feasible"] == feasible
        assert r == (r_free if feasible else min(r_free, -3.0))
        seen.add(feasible)
    assert seen == {True, False}


def test_excluded_configs_are_penalised():
    space = flat_space()
    learner = fit_learner(space)
    M = all_configs(space)
    best = space.to_configs(M[[np.argmin(learner.predict(space.encode_matrix(M)))]])[0]
    env = DesignEnv(space, learner, exclude=[best], exclude_reward=-5.0)
    _, r, info = run(env, env.actions_for(best))
    assert info["excluded"] and r == -5.0
    env.set_exclude([])
    _, r, info = run(env, env.actions_for(best))
    assert not info["excluded"] and r > 0


def test_multi_target_objective_by_name():
    space = flat_space()
    learner = fit_learner(space, k=3)
    env = DesignEnv(space, learner, target="size", direction="maximize")
    _, _, info = run(env, env.actions_for(space.sample(1, seed=3)[0] | {"lr": 1e-4}))
    assert info["prediction"] == info["predictions"]["size"]


def test_off_grid_config_has_no_action_sequence():
    space = flat_space()
    env = DesignEnv(space, fit_learner(space))
    cfg = {"lr": 0.0123, "batch": 16, "opt": "sgd", "layers": 2, "bn": True}
    with pytest.raises(SpaceError, match="'lr' is not on the design grid"):
        env.actions_for(cfg)


def test_bad_input_gives_clear_errors():
    space = flat_space()
    learner = fit_learner(space, k=2)
    with pytest.raises(NotFittedError, match="LinearLearner is not fitted"):
        DesignEnv(space, LinearLearner())
    other = fit_learner(conditional_space())
    msg = f"fitted on {other.n_features_in_} features but the space encodes {space.encoded_width}"
    with pytest.raises(ValueError, match=msg):
        DesignEnv(space, other)
    with pytest.raises(ValueError, match="unknown constraint metric 'memory'"):
        DesignEnv(space, learner, constraints={"memory": ("<=", 1.0)})
    with pytest.raises(ValueError, match="constraint on 'train_time' must be"):
        DesignEnv(space, learner, constraints={"train_time": ("==", 1.0)})
    with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize'"):
        DesignEnv(space, learner, direction="min")
    with pytest.raises(ValueError, match="acquisition must be one of 'mean', 'ucb', 'lcb'"):
        DesignEnv(space, learner, acquisition="pi")
    with pytest.raises(ValueError, match="acquisition 'ei' is not available in the design"):
        DesignEnv(space, learner, acquisition="ei")
    with pytest.raises(ValueError, match="kappa"):
        DesignEnv(space, learner, kappa=-1.0)
    with pytest.raises(ValueError, match="unknown target 'acc'"):
        DesignEnv(space, learner, target="acc")
    with pytest.raises(SpaceError, match="no value"):
        ctx = SearchSpace({"a": Categorical([1, 2])}, context={"d": Categorical(["x", "y"])})
        DesignState(ctx)
    with pytest.raises(ValueError, match="n must be a positive int"):
        DesignState(space, 0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("forest", {"n_estimators": 20}),
        ("mlp_ensemble", {"epochs": 3, "n_members": 3, "hidden": 16}),
    ],
)
def test_real_learners_multi_target(name, kwargs):
    from metarl.learners import make_learner

    space = conditional_space()
    M = space.sample_matrix(60, seed=0)
    X = space.encode_matrix(M)
    Y = np.stack([X.sum(axis=1), X[:, 0] + 1.0], axis=1)
    learner = make_learner(name, random_state=0, **kwargs)
    learner.fit(X, Y, target_names=["val_loss", "train_time"])
    env = DesignEnv(space, learner, acquisition="ucb", constraints={"train_time": ("<=", 1.5)})
    gym_check_env(gym.make("metarl/Design-v0", space=space, learner=learner).unwrapped)
    for cfg in space.to_configs(space.snap_to_grid(space.sample_matrix(5, seed=1))):
        _, r, info = run(env, env.actions_for(cfg))
        mu = learner.predict(space.encode([cfg]))
        z_mu, z_sd = learner.predict_standardized(space.encode([cfg]), return_std=True)
        acq = -z_mu[0, 0] + z_sd[0, 0]
        assert info["acquisition"] == pytest.approx(acq, rel=1e-4, abs=1e-5)
        assert info["feasible"] == (mu[0, 1] <= 1.5)
        scaled = (acq - env.reward_offset_) / env.reward_scale_
        assert r == pytest.approx(scaled if info["feasible"] else min(scaled, -3.0), abs=1e-4)
