"""The repository's own plug-in policy (top-level ``agents/``), registered by name."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import agents  # noqa: E402,F401 - registers ppo_then_local
from metarl.agents import LocalSearch, acquisition, available_policies, make_policy  # noqa: E402
from metarl.agents.testing import PolicyTestCase  # noqa: E402


class TestPPOThenLocal(PolicyTestCase):
    def make_policy(self, seed):
        ppo = {"timesteps": 256, "n_envs": 8, "n_samples": 32}
        return make_policy("ppo_then_local", ppo_kwargs=ppo, n_starts=4, seed=seed)


def test_plugin_is_registered_by_name_and_builds_on_the_builtin():
    assert {"local_search", "ppo_then_local"} <= set(available_policies())
    assert isinstance(make_policy("ppo_then_local"), LocalSearch)


def test_ppo_then_local_polishes_ppo(small_space, small_learner):
    p = make_policy(
        "ppo_then_local", ppo_kwargs={"timesteps": 256, "n_envs": 8, "n_samples": 32}, seed=0
    )
    configs = p.propose(small_space, small_learner, 2)
    all_M = np.concatenate(list(small_space.enumerate()))
    acq = acquisition(small_learner, small_space.encode_matrix(all_M))
    assert acquisition(small_learner, small_space.encode(configs[:1]))[0] == pytest.approx(
        acq.max()
    )
