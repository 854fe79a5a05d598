"""Every built-in policy passes the conformance suite shipped for plug-in authors."""

from __future__ import annotations

import optuna
import pytest

from metarl.agents import make_policy
from metarl.agents.testing import PolicyTestCase

optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestRandom(PolicyTestCase):
    uses_acquisition = False  # model-free: ignores the learner

    def make_policy(self, seed):
        return make_policy("random", seed=seed)


class TestSurrogateSampling(PolicyTestCase):
    def make_policy(self, seed):
        return make_policy("surrogate_sampling", n_samples=5000, chunk_size=2048, seed=seed)


class TestExhaustive(PolicyTestCase):
    def make_policy(self, seed):
        return make_policy("exhaustive", seed=seed)


class TestEvolution(PolicyTestCase):
    def make_policy(self, seed):
        return make_policy("evolution", n_evaluations=400, seed=seed)


class TestTPE(PolicyTestCase):
    uses_acquisition = False  # model-free: ignores the learner

    def make_policy(self, seed):
        return make_policy("tpe", seed=seed)


@pytest.mark.slow  # Optuna's GP fit dominates: seconds per check
class TestGP(PolicyTestCase):
    uses_acquisition = False  # Optuna's own GP on the history, not the meta-learner

    def make_policy(self, seed):
        return make_policy(
            "gp",
            sampler_kwargs={"warn_independent_sampling": False},
            max_asks_factor=2,
            seed=seed,
        )


class TestPPO(PolicyTestCase):
    def make_policy(self, seed):
        return make_policy("ppo", timesteps=256, n_envs=8, n_samples=64, seed=seed)
