"""DesignVecEnv: the same transitions as N DesignEnvs, one learner call per step, SB3 use."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from metarl.agents._threads import torch_threads
from metarl.envs import DesignEnv, DesignVecEnv
from tests.envs.conftest import LinearLearner, conditional_space, fit_learner


class CountingLearner(LinearLearner):
    def predict_standardized(self, X, return_std=False):
        self.calls_ = getattr(self, "calls_", 0) + 1
        return super().predict_standardized(X, return_std=return_std)


def test_vec_env_matches_n_design_envs(space, learner):
    n = 7
    exclude = space.to_configs(space.snap_to_grid(space.sample_matrix(20, seed=2)))
    kw = dict(acquisition="ucb", kappa=0.5, exclude=exclude)
    vec = DesignVecEnv(space, learner, n, **kw)
    envs = [DesignEnv(space, learner, **kw) for _ in range(n)]
    obs = vec.reset()
    for i, env in enumerate(envs):
        o, _ = env.reset(seed=i)
        np.testing.assert_array_equal(obs[i], o)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(60):
        np.testing.assert_array_equal(vec.action_masks(), [e.action_masks() for e in envs])
        actions = rng.integers(-3, vec.action_space.n + 3, size=n)  # invalid ones too
        obs, rew, done, infos = vec.step(actions)
        for i, env in enumerate(envs):
            o, r, term, trunc, info = env.step(actions[i])
            assert done[i] == (term or trunc)
            assert rew[i] == pytest.approx(r, abs=1e-6)
            if term:
                finished += 1
                np.testing.assert_array_equal(infos[i].pop("terminal_observation"), o)
                episode = infos[i].pop("episode")  # SB3's Monitor format: ep_rew_mean's source
                assert episode["r"] == pytest.approx(r, abs=1e-6)
                assert 1 <= episode["l"] <= vec.state.n_decisions
                assert infos[i].keys() == info.keys()
                assert infos[i]["config"] == info["config"]
                assert infos[i]["excluded"] == info["excluded"]
                o, _ = env.reset()
            np.testing.assert_array_equal(obs[i], o)
    assert finished > n


def test_one_learner_call_per_step_for_all_finishing_episodes():
    space = conditional_space()
    learner = CountingLearner().fit(
        space.encode_matrix(space.sample_matrix(100, seed=0)), np.arange(100.0)
    )
    vec = DesignVecEnv(space, learner, 32, precompute=False)
    vec.reset()
    learner.calls_ = 0
    steps_with_ends = 0
    for _ in range(40):
        _, _, done, _ = vec.step(np.zeros(32, dtype=np.int64))
        steps_with_ends += bool(done.any())
    assert learner.calls_ == steps_with_ends > 0


def test_masks_are_exposed_as_one_array():
    space = conditional_space()
    vec = VecMonitor(DesignVecEnv(space, fit_learner(space), 5))
    vec.reset()
    assert is_masking_supported(vec)
    masks = get_action_masks(vec)
    assert masks.shape == (5, vec.action_space.n) and masks.dtype == bool
    np.testing.assert_array_equal(vec.env_method("action_masks", indices=[1, 3]), masks[[1, 3]])
    assert vec.get_attr("render_mode") == [None] * 5
    assert vec.env_is_wrapped(VecMonitor) == [False] * 5


def _greedy_rewards(model, env: DesignVecEnv, masked: bool) -> np.ndarray:
    """Terminal rewards of one greedy episode per env of ``env``."""
    obs, got = env.reset(), []
    while len(got) < env.num_envs:
        kw = {"action_masks": env.action_masks()} if masked else {}
        actions, _ = model.predict(obs, deterministic=True, **kw)
        obs, rewards, done, _ = env.step(actions)
        got += rewards[done].tolist()
    return np.asarray(got[: env.num_envs])


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", [MaskablePPO, PPO])
def test_ppo_and_maskable_ppo_learn_on_the_vec_env(space, learner, algorithm):
    vec = VecMonitor(DesignVecEnv(space, learner, 16))
    with torch_threads(1):
        model = algorithm(
            "MlpPolicy", vec, n_steps=16, batch_size=128, n_epochs=4, learning_rate=3e-3, seed=0
        ).learn(2048)
        greedy = _greedy_rewards(model, DesignVecEnv(space, learner, 16), algorithm is MaskablePPO)
    assert model.num_timesteps == 2048 and len(model.ep_info_buffer) > 0
    # rewards are standardised, a random config's about N(0, 1): the greedy policy's configs
    # beat more than 84 % of random ones
    assert greedy.mean() > 1.0


class _MaskRecorder(gym.Wrapper):
    """Records, for every action taken, whether the env's mask allowed it."""

    def __init__(self, env: DesignEnv) -> None:
        super().__init__(env)
        self.allowed: list[bool] = []

    def action_masks(self) -> np.ndarray:
        return self.env.unwrapped.action_masks()

    def step(self, action):
        self.allowed.append(bool(self.action_masks()[int(action)]))
        return self.env.step(action)


def test_maskable_ppo_on_the_single_env_takes_only_valid_actions():
    space = conditional_space()  # conditions and Subset min_size: many invalid actions
    learner = fit_learner(space)
    masked, plain = (
        _MaskRecorder(DesignEnv(space, learner)),
        _MaskRecorder(DesignEnv(space, learner)),
    )
    with torch_threads(1):
        MaskablePPO("MlpPolicy", masked, n_steps=64, batch_size=64, n_epochs=1, seed=0).learn(128)
        PPO("MlpPolicy", plain, n_steps=64, batch_size=64, n_epochs=1, seed=0).learn(128)
    assert len(masked.allowed) == 128 and all(masked.allowed)
    assert not all(plain.allowed)  # without the masks, invalid actions are drawn (and mapped)


def test_prediction_table_gives_the_live_rewards_without_learner_calls():
    space = conditional_space()
    learner = CountingLearner().fit(
        space.encode_matrix(space.sample_matrix(100, seed=0)), np.arange(100.0)
    )
    live = DesignVecEnv(space, learner, 16, acquisition="lcb", precompute=False)
    table = DesignVecEnv(space, learner, 16, acquisition="lcb")
    assert table.reward.has_table and not live.reward.has_table
    live.reset()
    table.reset()
    rng = np.random.default_rng(1)
    for _ in range(30):
        a = rng.integers(live.action_space.n, size=16)
        _, r_live, d_live, i_live = live.step(a)
        learner.calls_ = 0
        _, r_tab, d_tab, i_tab = table.step(a)
        assert learner.calls_ == 0
        np.testing.assert_allclose(r_tab, r_live, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(d_tab, d_live)
        for a_info, b_info in zip(i_live, i_tab):
            assert a_info.get("prediction") == pytest.approx(b_info.get("prediction"))


def test_refresh_rereads_a_refitted_learner():
    space = conditional_space()
    X = space.encode_matrix(space.sample_matrix(100, seed=0))
    learner = LinearLearner().fit(X, np.arange(100.0))
    env = DesignEnv(space, learner)
    seq = env.actions_for(space.to_configs(space.snap_to_grid(space.sample_matrix(1, seed=4)))[0])
    env.reset()
    for a in seq:
        *_, info = env.step(a)
    learner.fit(X, -np.arange(100.0) * 10)
    env.refresh()
    env.reset()
    for a in seq:
        *_, info2 = env.step(a)
    assert info2["prediction"] == pytest.approx(learner.predict(space.encode([info["config"]]))[0])
    assert info2["prediction"] != pytest.approx(info["prediction"])


def test_sb3_reads_episode_rewards_without_a_monitor(space, learner):
    """The vec env reports finished episodes as SB3's Monitor does, so PPO's logs (and
    TensorBoard's rollout/ep_rew_mean) show the acquisition the agent reaches."""
    vec = DesignVecEnv(space, learner, 8)
    with torch_threads(1):
        model = MaskablePPO("MlpPolicy", vec, n_steps=8, batch_size=64, n_epochs=1, seed=0)
        model.learn(64)
    assert len(model.ep_info_buffer) > 0
    assert all(np.isfinite(ep["r"]) and ep["l"] >= 1 for ep in model.ep_info_buffer)
