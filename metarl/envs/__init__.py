"""The design environment: a config built one decision at a time, rewarded by a
meta-learner's prediction (a Gymnasium env, and a stable-baselines3 VecEnv of N of them).

Importing this package registers ``"metarl/Design-v0"`` with Gymnasium (lazily, by entry
point string)::

    env = gymnasium.make("metarl/Design-v0", space=space, learner=learner)
"""

from gymnasium.envs.registration import register, registry

from metarl.envs._acquisition import Acquisition, Scores
from metarl.envs._design import DesignEnv
from metarl.envs._state import DesignState
from metarl.envs._vec import DesignVecEnv

if "metarl/Design-v0" not in registry:
    register(id="metarl/Design-v0", entry_point="metarl.envs._design:DesignEnv")

__all__ = ["Acquisition", "DesignEnv", "DesignState", "DesignVecEnv", "Scores"]
