"""The plug-in environment contract: the keywords every env receives, checked env ids."""

from __future__ import annotations

import gymnasium as gym
import pytest

from metarl.envs import CONFIG_INFO_KEY, DesignEnv, DesignEnvKwargs, DesignVecEnv, check_env_id
from metarl.envs._contract import check_env_kwargs, make_design_vec_env
from tests.envs.conftest import fit_learner, flat_space


class _OldKeywords(DesignEnv):
    """A plug-in written against the old contract (``reward=``, no ``acquisition=``)."""

    def __init__(self, space, learner, direction, reward, kappa, exclude, render_mode=None):
        super().__init__(space, learner, direction=direction, reward=reward, kappa=kappa)


class _AnyKeywords(DesignEnv):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)


@pytest.fixture
def registered():
    ids = {
        "contract_tests/Old-v0": _OldKeywords,
        "contract_tests/Any-v0": _AnyKeywords,
        "contract_tests/Broken-v0": "contract_tests_missing_module:Env",
    }
    for env_id, entry_point in ids.items():
        gym.register(env_id, entry_point=entry_point)
    yield ids
    for env_id in ids:
        del gym.registry[env_id]


def _kwargs(space, learner) -> DesignEnvKwargs:
    return DesignEnvKwargs(
        space=space,
        learner=learner,
        direction="maximize",
        acquisition="ucb",
        kappa=2.0,
        exclude=space.to_configs(space.snap_to_grid(space.sample_matrix(3, seed=0))),
        render_mode=None,
    )


def test_an_unregistered_namespace_says_which_module_to_import():
    msg = (
        r"env id 'nowhere/Design-v0': namespace 'nowhere' is not registered; import the "
        r"module that registers it \(metarl run --import nowhere\)"
    )
    with pytest.raises(ValueError, match=msg):
        check_env_id("nowhere/Design-v0")
    with pytest.raises(ValueError, match="'metarl/Nothing-v0' is not registered"):
        check_env_id("metarl/Nothing-v0")


def test_constructors_are_checked_against_the_contract(registered):
    assert check_env_id("metarl/Design-v0").id == "metarl/Design-v0"
    check_env_id("contract_tests/Any-v0")  # **kwargs takes every keyword
    with pytest.raises(ValueError, match=r"does not accept acquisition.*reward= was renamed"):
        check_env_id("contract_tests/Old-v0")
    with pytest.raises(ValueError, match="cannot import its entry point"):
        check_env_id("contract_tests/Broken-v0")


def test_env_kwargs_cannot_override_the_contract():
    assert check_env_kwargs({"constraints": {}}) == {"constraints": {}}
    for key in ("acquisition", "exclude", "reward"):
        with pytest.raises(ValueError, match=f"env_kwargs may not set {key}"):
            check_env_kwargs({key: None})


@pytest.mark.parametrize("env_id", [None, "metarl/Design-v0"])
def test_both_builds_pass_every_keyword_and_end_episodes_with_the_config(env_id):
    space = flat_space()
    kwargs = _kwargs(space, fit_learner(space))
    env = make_design_vec_env(env_id, 3, 0, kwargs, {"n_reference": 64})
    design = env.envs[0].unwrapped if env_id else env
    assert (design.acquisition, design.kappa) == ("ucb", 2.0)
    assert design.reward.direction == "maximize"
    # build an excluded config in every env: its episode ends flagged, with the config
    target = kwargs["exclude"][0]
    env.reset()
    for action in design.state.actions_for([target])[0]:
        _, _, done, infos = env.step([action] * 3)
    assert done.all()
    assert all(info[CONFIG_INFO_KEY] == target and info["excluded"] for info in infos)


def test_the_vec_env_renders_nothing():
    space = flat_space()
    with pytest.raises(ValueError, match="DesignVecEnv renders nothing"):
        DesignVecEnv(space, fit_learner(space), 2, render_mode="ansi")
