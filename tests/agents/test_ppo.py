"""PPO: fine-tuning across rounds, save/load, masking choice and a user's own env id."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import acquisition, make_policy
from metarl.agents._ppo import needs_masks
from metarl.space import Categorical, SearchSpace

SMALL = dict(timesteps=512, n_envs=8, n_samples=64)


def test_ppo_fine_tunes_the_same_model_across_rounds(small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    first = p.propose(small_space, small_learner, 2)
    model, steps = p.model_, p.model_.num_timesteps
    second = p.propose(small_space, small_learner, 2, exclude=first)
    assert p.model_ is model and p.model_.num_timesteps > steps
    keys = set(small_space.keys(small_space.to_matrix(first)))
    assert not keys & set(small_space.keys(small_space.to_matrix(second)))


def test_ppo_save_load_round_trip(tmp_path, small_space, small_learner):
    p = make_policy("ppo", seed=0, **SMALL)
    p.propose(small_space, small_learner, 1)
    p.save(tmp_path / "ppo.zip")
    q = make_policy("ppo", seed=0, **SMALL).load(tmp_path / "ppo.zip")
    assert type(q.model_).__name__ == "MaskablePPO"
    obs = np.zeros((1, *p.model_.observation_space.shape), dtype=np.float32)
    a = p.model_.policy.obs_to_tensor(obs)[0]
    np.testing.assert_allclose(
        p.model_.policy.predict_values(a).detach().numpy(),
        q.model_.policy.predict_values(q.model_.policy.obs_to_tensor(obs)[0]).detach().numpy(),
        rtol=1e-5,
    )


def test_ppo_save_before_training_and_bad_file_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not been trained"):
        make_policy("ppo").save(tmp_path / "x.zip")
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="not an SB3 model"):
        make_policy("ppo").load(tmp_path / "bad.zip")


def test_plain_ppo_when_the_space_has_no_masks(small_space):
    uniform = SearchSpace({f"x{i}": Categorical(list("abc")) for i in range(4)})
    assert not needs_masks(uniform) and needs_masks(small_space)
    M = uniform.sample_matrix(64, 0)
    from tests.agents.conftest import LinearLearner, objective

    learner = LinearLearner().fit(uniform.encode_matrix(M), objective(uniform, M))
    p = make_policy("ppo", seed=0, **SMALL)
    configs = p.propose(uniform, learner, 3)
    assert type(p.model_).__name__ == "PPO" and len(configs) == 3


def test_ppo_trains_in_a_registered_env_id(small_space, small_learner):
    import metarl.envs  # noqa: F401 - registers metarl/Design-v0

    p = make_policy("ppo", env_id="metarl/Design-v0", seed=0, **SMALL)
    configs = p.propose(small_space, small_learner, 3)
    assert len(configs) == 3


def test_ppo_with_a_learner_of_another_space_is_refused(big_space, small_learner):
    with pytest.raises(ValueError, match="different space"):
        make_policy("ppo", **SMALL).propose(big_space, small_learner, 1)


def test_ppo_learns_toward_the_optimum(small_space, small_learner):
    p = make_policy("ppo", seed=0, timesteps=3000, n_envs=16, n_samples=256)
    (best,) = p.propose(small_space, small_learner, 1)
    all_M = np.concatenate(list(small_space.enumerate()))
    acq = acquisition(small_learner, small_space.encode_matrix(all_M))
    got = acquisition(small_learner, small_space.encode([best]))[0]
    assert got >= np.quantile(acq, 0.9)
