"""The design environment: a config built one decision at a time, rewarded by a
meta-learner's acquisition (a Gymnasium env, and a stable-baselines3 VecEnv of N of them),
and the contract any environment the PPO policy trains in follows (:class:`DesignEnvKwargs`).

``import metarl`` registers ``"metarl/Design-v0"`` with Gymnasium (lazily, by entry point
string, in :mod:`metarl._gym`)::

    env = gymnasium.make("metarl/Design-v0", space=space, learner=learner, acquisition="ucb")
"""

from typing import Any

from metarl.envs._contract import CONFIG_INFO_KEY, DesignEnvKwargs, check_env_id
from metarl.envs._design import DesignEnv
from metarl.envs._reward import DesignReward, Rewards
from metarl.envs._state import DesignState
from metarl.envs._vec import DesignVecEnv

__all__ = [
    "CONFIG_INFO_KEY",
    "DesignEnv",
    "DesignEnvKwargs",
    "DesignReward",
    "DesignState",
    "DesignVecEnv",
    "Rewards",
    "check_env_id",
]

_RENAMED = {"Acquisition": DesignReward, "Scores": Rewards}


def __getattr__(name: str) -> Any:
    """The old names of renamed classes, with a ``FutureWarning`` (PEP 562)."""
    if name in _RENAMED:
        import warnings

        new = _RENAMED[name].__name__
        warnings.warn(
            f"metarl.envs.{name} was renamed metarl.envs.{new}", FutureWarning, stacklevel=2
        )
        return _RENAMED[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
