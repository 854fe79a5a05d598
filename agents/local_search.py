"""PPO polished by metarl's local search: a policy written only against metarl's public
API and registered by name, as an outside user would write theirs. It reuses the built-in
``LocalSearch`` (``"local_search"``) and overrides one hook, where the climbs start.

    import agents  # registers "ppo_then_local"
    from metarl.agents import make_policy

    policy = make_policy("ppo_then_local", ppo_kwargs={"timesteps": 20_000})
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from metarl.agents import LocalSearch, Problem, make_policy, register_policy
from metarl.type_aliases import AcquisitionKind


class PPOThenLocal(LocalSearch):
    """PPO's proposals polished by hill climbing on the same acquisition.

    PPO (``make_policy("ppo", ...)``) proposes ``n_starts`` configs; each is climbed as in
    ``LocalSearch``. PPO's network is this policy's learned state (``save``/``load``), so a
    loop fine-tunes it round after round.

    Args:
        ppo_kwargs: keyword hyperparameters of the ``"ppo"`` policy (e.g. ``timesteps``).
        n_starts, max_steps, acquisition, kappa, min_distance, seed: see ``LocalSearch``.
    """

    name = "ppo_then_local"

    def __init__(
        self,
        *,
        ppo_kwargs: dict[str, Any] | None = None,
        n_starts: int = 16,
        max_steps: int = 50,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        self.ppo_kwargs = ppo_kwargs
        self.ppo = make_policy(
            "ppo",
            **{"acquisition": acquisition, "kappa": kappa, "seed": seed, **(ppo_kwargs or {})},
        )
        super().__init__(
            n_starts=n_starts,
            max_steps=max_steps,
            acquisition=acquisition,
            kappa=kappa,
            min_distance=min_distance,
            seed=seed,
        )

    def reseed(self, seed: int | None) -> None:
        """Reseed the climbing and PPO alike."""
        super().reseed(seed)
        self.ppo.reseed(seed)

    def _starting_points(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        configs = self.ppo.propose(
            problem.space,
            problem.learner,
            self.n_starts,
            direction=problem.direction,
            exclude=problem.exclude_configs,
        )
        M = problem.space.to_matrix(configs)
        return M, problem.score(M)

    def save(self, path: str | Path) -> None:
        """Save the PPO model (the climbing itself has no state)."""
        self.ppo.save(path)

    def load(self, path: str | Path) -> PPOThenLocal:
        """Restore the PPO model written by :meth:`save`."""
        self.ppo.load(path)
        return self


register_policy("ppo_then_local", PPOThenLocal, overwrite=True)
