"""The repository's own plug-in policies (top-level ``agents/``), registered by name."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import agents  # noqa: E402,F401 - registers local_search and ppo_then_local
from metarl.agents import acquisition, available_policies, make_policy  # noqa: E402
from metarl.agents.testing import PolicyTestCase  # noqa: E402


class TestLocalSearch(PolicyTestCase):
    def make_policy(self, seed):
        return make_policy("local_search", n_initial=256, n_starts=4, seed=seed)


def test_plugins_are_registered_by_name():
    assert {"local_search", "ppo_then_local"} <= set(available_policies())


def test_local_search_climbs_above_its_starting_points(big_space, big_learner):
    p = make_policy("local_search", n_initial=512, n_starts=4, seed=0)
    (best,) = p.propose(big_space, big_learner, 1)
    start = acquisition(big_learner, big_space.encode_matrix(big_space.sample_matrix(512, 0)))
    assert acquisition(big_learner, big_space.encode([best]))[0] > start.max()


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
