"""PPO: fine-tuning across rounds, save/load, masking choice and a user's own env id."""

from __future__ import annotations

import io
import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch

import metarl
from metarl.agents import acquisition, make_policy
from metarl.agents._ppo import needs_masks
from metarl.agents._ppo_rollout import GreedyStop, sample_designs
from metarl.agents._threads import torch_threads
from metarl.envs import DesignEnv
from metarl.space import Categorical, SearchSpace
from tests.agents.conftest import LinearLearner, objective

#: a few rollouts every round (no early stop, no skipped round): exact timestep counts
SMALL = dict(timesteps=512, finetune_timesteps=512, patience=None, n_envs=8, n_samples=64)


def test_ppo_fine_tunes_the_same_model_across_rounds(small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    first = p.propose(small_space, small_learner, 2)
    model, steps = p.model_, p.model_.num_timesteps
    second = p.propose(small_space, small_learner, 2, exclude=first)
    assert p.model_ is model and p.model_.num_timesteps > steps
    keys = set(small_space.keys(small_space.to_matrix(first)))
    assert not keys & set(small_space.keys(small_space.to_matrix(second)))


def _greedy(policy, space, learner):
    """The greedy (argmax) config of the policy's current model, without training it."""
    env = policy.make_env(space, learner, "minimize", [], seed=0)
    return policy._rollouts(env, 1, deterministic=True)[0]


def test_ppo_save_load_round_trip_runs_no_pickle(tmp_path, small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)
    path = p.save(tmp_path / "policy")  # written exactly as named
    assert path == tmp_path / "policy" and path.exists()
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["metadata.json", "weights.pt"]
        meta = json.loads(zf.read("metadata.json"))
        torch.load(io.BytesIO(zf.read("weights.pt")), weights_only=True)  # tensors only
    assert meta["algorithm"] == "MaskablePPO"
    assert meta["space_fingerprint"] == small_space.fingerprint()
    assert meta["params"]["net_arch"] == [64, 64] and meta["num_timesteps"] == 512

    q = make_policy("ppo", seed=0, **{**SMALL, "finetune_timesteps": 0}).load(path)  # no training
    assert q.model_ is None  # rebuilt lazily: the environment comes with propose
    q.propose(small_space, small_learner, 1)
    assert type(q.model_).__name__ == "MaskablePPO" and q.model_.num_timesteps == 512
    for k, v in p.model_.policy.state_dict().items():
        torch.testing.assert_close(q.model_.policy.state_dict()[k], v)
    assert _greedy(q, small_space, small_learner) == _greedy(p, small_space, small_learner)


def test_ppo_fine_tunes_from_the_loaded_weights(tmp_path, small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)
    q = make_policy("ppo", seed=0, **SMALL).load(p.save(tmp_path / "ppo.zip"))
    q.propose(small_space, small_learner, 1)  # trains 512 more steps from the loaded state
    assert q.model_.num_timesteps == 1024
    fresh = make_policy("ppo", seed=1, **SMALL)
    fresh.propose(small_space, small_learner, 1)
    key = "action_net.weight"
    moved = (q.model_.policy.state_dict()[key] - p.model_.policy.state_dict()[key]).abs().max()
    apart = (fresh.model_.policy.state_dict()[key] - p.model_.policy.state_dict()[key]).abs()
    assert moved < apart.max()  # one more round nudges the weights; a new run starts elsewhere
    # a loaded but not yet rebuilt policy saves again unchanged
    again = make_policy("ppo").load(tmp_path / "ppo.zip").save(tmp_path / "again.zip")
    with zipfile.ZipFile(again) as zf:
        assert json.loads(zf.read("metadata.json"))["num_timesteps"] == 512


def test_ppo_loaded_on_another_space_is_refused(tmp_path, small_space, small_learner, big_space):
    from tests.agents.conftest import fit_learner

    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)
    q = make_policy("ppo", **SMALL).load(p.save(tmp_path / "ppo.zip"))
    with pytest.raises(ValueError, match="trained on another search space"):
        q.propose(big_space, fit_learner(big_space), 1)


def _rewrite_meta(path, **changes):
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(files["metadata.json"])
    meta.update(changes)
    files["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in files.items():
            zf.writestr(n, b)


def test_ppo_file_errors_are_clear(tmp_path, small_space, small_learner):
    with pytest.raises(ValueError, match="not been trained"):
        make_policy("ppo").save(tmp_path / "x.zip")
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="not a metarl policy file"):
        make_policy("ppo").load(tmp_path / "bad.zip")
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)
    path = p.save(tmp_path / "ppo.zip")
    _rewrite_meta(path, metarl_version="99.0.0")
    with pytest.raises(ValueError, match="metarl 99.0.0.*major"):
        make_policy("ppo").load(path)
    _rewrite_meta(path, metarl_version=metarl.__version__, policy="elsewhere.Policy")
    with pytest.raises(ValueError, match="elsewhere.Policy file"):
        make_policy("ppo").load(path)


def test_sb3_zip_only_on_request(tmp_path, small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)
    path = p.save(tmp_path / "sb3.zip", sb3=True)
    with pytest.raises(ValueError, match="SB3 model zip.*sb3=True"):
        make_policy("ppo").load(path)
    q = make_policy("ppo", **SMALL).load(path, sb3=True)
    assert type(q.model_).__name__ == "MaskablePPO"
    assert _greedy(q, small_space, small_learner) == _greedy(p, small_space, small_learner)


def _beats_random(space, learner, configs) -> bool:
    """Whether the configs' mean acquisition beats that of 2,000 random grid configs."""
    random = space.snap_to_grid(space.sample_matrix(2000, seed=9))
    mean_random = acquisition(learner, space.encode_matrix(random)).mean()
    return acquisition(learner, space.encode(configs)).mean() > mean_random


def test_plain_ppo_when_the_space_has_no_masks(small_space):
    uniform = SearchSpace({f"x{i}": Categorical(list("abc")) for i in range(4)})
    assert not needs_masks(uniform) and needs_masks(small_space)
    M = uniform.sample_matrix(64, 0)
    learner = LinearLearner().fit(uniform.encode_matrix(M), objective(uniform, M))
    p = make_policy("ppo", seed=0, **SMALL)
    configs = p.propose(uniform, learner, 3)
    assert type(p.model_).__name__ == "PPO"
    assert len(configs) == 3 and _beats_random(uniform, learner, configs)


class _NoMasks(gym.Env):
    """The design env behind the plug-in contract, without ``action_masks()`` (and, with
    ``drop_config``, without ``info["config"]``)."""

    metadata = {"render_modes": []}

    def __init__(self, drop_config: bool = False, **contract):
        self._env = DesignEnv(**contract)
        self.drop_config = drop_config
        self.observation_space, self.action_space = (
            self._env.observation_space,
            self._env.action_space,
        )

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._env.reset(seed=seed)

    def step(self, action):
        obs, reward, term, trunc, info = self._env.step(action)
        if self.drop_config:
            info.pop("config", None)
        return obs, reward, term, trunc, info


@pytest.fixture
def no_masks_id():
    gym.register("ppo_tests/NoMasks-v0", entry_point=_NoMasks)
    yield "ppo_tests/NoMasks-v0"
    del gym.registry["ppo_tests/NoMasks-v0"]


def test_maskable_ppo_only_when_the_env_offers_masks(small_space, small_learner, no_masks_id):
    assert needs_masks(small_space)  # conditional: the built-in env trains MaskablePPO
    p = make_policy("ppo", env_id=no_masks_id, seed=0, **SMALL)
    configs = p.propose(small_space, small_learner, 3)
    assert type(p.model_).__name__ == "PPO" and len(configs) == 3
    with pytest.raises(ValueError, match="'maskable_ppo' needs an environment with action_masks"):
        make_policy("ppo", env_id=no_masks_id, algorithm="maskable_ppo", **SMALL).propose(
            small_space, small_learner, 1
        )
    masked = make_policy("ppo", env_id="metarl/Design-v0", seed=0, **SMALL)
    masked.propose(small_space, small_learner, 1)
    assert type(masked.model_).__name__ == "MaskablePPO"


def test_an_episode_without_the_config_is_a_clear_error(small_space, small_learner, no_masks_id):
    p = make_policy("ppo", env_id=no_masks_id, env_kwargs={"drop_config": True}, **SMALL)
    with pytest.raises(ValueError, match=r"without info\['config'\]"):
        p.propose(small_space, small_learner, 1)


def test_ppo_trains_in_a_registered_env_id_with_the_contract(small_space, small_learner):
    p = make_policy("ppo", env_id="metarl/Design-v0", acquisition="ucb", kappa=2.0, seed=0, **SMALL)
    configs = p.propose(small_space, small_learner, 3)
    envs = [e.unwrapped for e in p.model_.get_env().envs]  # one DesignEnv per env, from the id
    assert len(envs) == SMALL["n_envs"] and all(isinstance(e, DesignEnv) for e in envs)
    assert {(e.acquisition, e.kappa) for e in envs} == {("ucb", 2.0)}
    assert len(configs) == 3 and _beats_random(small_space, small_learner, configs)


def test_a_wrong_env_id_fails_when_the_policy_is_built():
    with pytest.raises(ValueError, match="namespace 'nowhere' is not registered.*--import nowhere"):
        make_policy("ppo", env_id="nowhere/EditDesign-v0")
    with pytest.raises(ValueError, match="env_kwargs may not set reward"):
        make_policy("ppo", env_kwargs={"reward": "ucb"})


def test_ppo_with_a_learner_of_another_space_is_refused(big_space, small_learner):
    with pytest.raises(ValueError, match="different space"):
        make_policy("ppo", **SMALL).propose(big_space, small_learner, 1)


@pytest.mark.slow
def test_ppo_learns_toward_the_optimum(small_space, small_learner):
    p = make_policy("ppo", seed=0, timesteps=3000, n_envs=16, n_samples=256)
    (best,) = p.propose(small_space, small_learner, 1)
    all_M = np.concatenate(list(small_space.enumerate()))
    acq = acquisition(small_learner, small_space.encode_matrix(all_M))
    got = acquisition(small_learner, small_space.encode([best]))[0]
    assert got >= np.quantile(acq, 0.9)


# ---------------------------------------------------------------------- amortised training
class _Scripted:
    """A probe that returns scripted values, one per call."""

    def __init__(self, values):
        self.values, self.calls = list(values), 0

    def __call__(self, model):
        self.calls += 1
        return self.values[min(self.calls, len(self.values)) - 1]


def test_greedy_stop_stops_after_patience_probes_without_gain(small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)  # builds the model
    rollout = p.model_.n_steps * SMALL["n_envs"]
    # baseline 0, then a gain, then two probes without one: stops at the 4th rollout start
    stop = GreedyStop(_Scripted([0.0, 1.0, 1.0, 0.5, 9.0]), patience=2)
    improving = GreedyStop(_Scripted(range(100)), patience=1)
    before = p.model_.num_timesteps
    with torch_threads(1):  # as the policy trains: tiny networks crawl on contended threads
        p.model_.learn(50 * rollout, callback=stop, reset_num_timesteps=False)
        steps = p.model_.num_timesteps - before
        p.model_.learn(3 * rollout, callback=improving, reset_num_timesteps=False)
    assert stop.stopped and stop.values == [0.0, 1.0, 1.0, 0.5]
    assert steps == 3 * rollout + SMALL["n_envs"]  # + the step that stops
    assert not improving.stopped and len(improving.values) == 3
    with pytest.raises(ValueError, match="patience"):
        GreedyStop(_Scripted([0.0]), patience=0)


def test_finetune_timesteps_none_is_one_rollout(big_space, big_learner):
    kw = dict(timesteps=3000, finetune_timesteps=None, patience=None, n_envs=8, n_samples=64)
    p = make_policy("ppo", seed=0, **kw)
    first = p.propose(big_space, big_learner, 1)
    rollout = p.model_.n_steps * 8
    assert p.last_training_["first"] and p.last_training_["timesteps"] >= 3000 > rollout
    p.propose(big_space, big_learner, 1, exclude=first)
    assert not p.last_training_["first"] and p.last_training_["timesteps"] == rollout


def test_training_stops_early_and_later_rounds_train_less(big_space, big_learner):
    budget = dict(timesteps=40_000, finetune_timesteps=40_000, n_envs=8, n_samples=64)
    p = make_policy("ppo", seed=0, **budget)  # default patience and retrain_tol
    first = p.propose(big_space, big_learner, 1)
    r1 = p.last_training_
    assert r1["first"] and r1["stopped"] and r1["timesteps"] < 40_000
    p.propose(big_space, big_learner, 1)  # same learner, greedy not excluded: it held
    assert p.last_training_ == {**p.last_training_, "skipped": True, "timesteps": 0}
    # the acquisition moved (the other direction): the round trains again, the same model
    model = p.model_
    p.propose(big_space, big_learner, 1, exclude=first, direction="maximize")
    r3 = p.last_training_
    assert p.model_ is model and not r3["first"] and not r3["skipped"]
    assert r3["stopped"] and 0 < r3["timesteps"] < 40_000
    assert r3["greedy"][-1] <= max(r3["greedy"][:-1])  # stopped on a probe without gain


def test_sample_designs_greedy_rows_and_seeded_draws(big_space, big_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(big_space, big_learner, 1)
    a = sample_designs(p.model_, big_space, 200, np.random.default_rng(1), n_greedy=2)
    b = sample_designs(p.model_, big_space, 200, np.random.default_rng(1), n_greedy=2)
    np.testing.assert_array_equal(a.M, b.M)
    assert (
        a.M.shape == (202, big_space.n_columns) and (a.M[-1] == a.M[-2])[~np.isnan(a.M[-1])].all()
    )
    big_space.to_configs(a.M)  # every row a valid config
    np.testing.assert_allclose(a.X, big_space.encode_matrix(a.M))
    env = p.make_env(big_space, big_learner, "minimize", [], seed=0)
    greedy = p._rollouts(env, 1, deterministic=True)[0]  # SB3's own argmax episode
    assert big_space.to_configs(a.M[-1:])[0] == greedy
    assert len(np.unique(a.M[:-2], axis=0)) > 1 and a.entropy > 0


@pytest.mark.parametrize("masked", [True, False])
def test_seeded_proposals_replay_whatever_the_torch_thread_count(big_space, big_learner, masked):
    kw = dict(SMALL, timesteps=1024, algorithm="maskable_ppo" if masked else "ppo", seed=7)

    def run(threads):
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            p = make_policy("ppo", **kw)
            first = p.propose(big_space, big_learner, 3)
            return first + p.propose(big_space, big_learner, 3, exclude=first)
        finally:
            torch.set_num_threads(old)

    assert run(1) == run(2)
