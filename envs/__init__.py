"""The repository's own plug-in environments, registered with Gymnasium by id.

Importing this package registers them (lazily: the module is imported at ``gym.make``)::

    import envs  # registers "envs/EditDesign-v0"
    from metarl.agents import make_policy
    policy = make_policy("ppo", env_id="envs/EditDesign-v0")
"""

import gymnasium as gym

if "envs/EditDesign-v0" not in gym.registry:
    gym.register(id="envs/EditDesign-v0", entry_point="envs.edit_env:EditDesignEnv")

__all__: list[str] = []
