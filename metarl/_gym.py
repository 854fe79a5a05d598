"""Gymnasium ids of metarl's environments, registered when ``metarl`` is imported.

Registration is by ``"module:Class"`` string, as Gymnasium's own envs do, so that it imports
no env code (nor torch or SB3): ``gymnasium.make("metarl/Design-v0", space=..., learner=...)``
imports :mod:`metarl.envs` on first use.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

#: Env id -> entry point.
ENV_IDS = {"metarl/Design-v0": "metarl.envs._design:DesignEnv"}


def register_envs() -> None:
    """Register :data:`ENV_IDS` with Gymnasium (idempotent: an id already there is kept)."""
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point)


register_envs()
