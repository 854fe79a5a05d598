"""N design episodes in lockstep, as one stable-baselines3 ``VecEnv``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from metarl.envs._contract import renamed_reward
from metarl.envs._design import _exclusion_keys, build_design
from metarl.envs._reward import Constraints
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Config, ConfigMatrix, Direction


class DesignVecEnv(VecEnv):
    """``n_envs`` :class:`DesignEnv` episodes stepped together in numpy.

    Same actions, observations, rewards and infos as ``n_envs`` separate
    :class:`DesignEnv` (see there for the spaces and the reward), but a step is a fixed
    handful of numpy operations over the whole batch, and the learner is called once per
    step for all the episodes that finish on it (never once per episode), or not at all when
    the design grid is small enough to be predicted once at construction (``precompute``).

    SB3 auto-reset semantics: an episode that finishes is reset at once; its step returns
    ``done=True``, the terminal reward, the first observation of the next episode, and the
    last observation in ``info["terminal_observation"]``. Episodes of a conditional space
    have different lengths, so episodes finish and restart at different steps.

    Action masks for ``MaskablePPO``: :meth:`action_masks` returns one ``(n_envs,
    n_actions)`` array, and ``env_method("action_masks")`` (what
    ``sb3_contrib.common.maskable.utils.get_action_masks`` calls) returns that same array,
    without a call per episode. All episodes share the learner, the space and the reward
    settings: ``get_attr`` returns the shared value for every index, and ``set_attr`` sets it
    for all.

    Args:
        space: the search space.
        learner: a meta-learner fitted on ``space.encode(...)`` features.
        n_envs: number of episodes run in lockstep.
        render_mode: ``None`` only (it takes the keyword as the plug-in contract,
            :class:`DesignEnvKwargs`, asks; ``DesignEnv(render_mode="ansi")`` renders).
        **kwargs: as :class:`DesignEnv` (direction, acquisition, kappa, target, constraints,
            exclude, infeasible_reward, exclude_reward, n_reference, reference_seed,
            reward_offset, reward_scale, precompute, precompute_max; reward, deprecated).
    """

    def __init__(
        self,
        space: SearchSpace,
        learner: MetaLearner,
        n_envs: int = 64,
        *,
        direction: Direction = "minimize",
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        target: str | None = None,
        constraints: Constraints | None = None,
        exclude: Sequence[Config] | ConfigMatrix = (),
        infeasible_reward: float = -3.0,
        exclude_reward: float = -3.0,
        n_reference: int = 1024,
        reference_seed: int = 0,
        reward_offset: float | None = None,
        reward_scale: float | None = None,
        precompute: bool | None = None,
        precompute_max: int = 65536,
        render_mode: str | None = None,
        reward: AcquisitionKind | None = None,
    ) -> None:
        acquisition = renamed_reward(reward, acquisition)
        if not isinstance(space, SearchSpace):
            raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}")
        if render_mode is not None:
            raise ValueError(
                f"DesignVecEnv renders nothing (render_mode must be None, got {render_mode!r}); "
                "DesignEnv(render_mode='ansi') prints a config"
            )
        self.space = space
        self.learner = learner
        self.render_mode = None
        self.reward, self.state = build_design(
            space,
            learner,
            n_envs,
            exclude,
            direction=direction,
            acquisition=acquisition,
            kappa=kappa,
            target=target,
            constraints=constraints,
            infeasible_reward=infeasible_reward,
            exclude_reward=exclude_reward,
            n_reference=n_reference,
            reference_seed=reference_seed,
            reward_offset=reward_offset,
            reward_scale=reward_scale,
            precompute=precompute,
            precompute_max=precompute_max,
        )
        self.acquisition, self.kappa = self.reward.acquisition, self.reward.kappa
        action_space = spaces.Discrete(self.state.n_actions)
        obs_space = spaces.Box(0.0, 1.0, (self.state.obs_dim,), dtype=np.float32)
        super().__init__(self.state.n, obs_space, action_space)
        self._actions = np.zeros(self.state.n, dtype=np.int64)

    @property
    def reward_offset_(self) -> float:
        return self.reward.reward_offset_

    @property
    def reward_scale_(self) -> float:
        return self.reward.reward_scale_

    def refresh(self) -> None:
        """Re-read the learner after it was refitted in place (scaling and table)."""
        self.reward.refresh()

    def set_exclude(self, exclude: Sequence[Config] | ConfigMatrix) -> None:
        """Replace the set of excluded configs (e.g. after a round of evaluations)."""
        self.reward.set_excluded(_exclusion_keys(self.state, exclude))

    def action_masks(self) -> np.ndarray:
        """(n_envs, n_actions) bool: the valid actions of every episode now."""
        return self.state.masks.copy()

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> np.ndarray:
        self.state.reset()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()  # the dynamics are deterministic: seeds change nothing
        self._reset_options()
        return self.state.observations()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        state = self.state
        done = state.step(self._actions)
        obs = state.observations()
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            rows = np.flatnonzero(done)
            scored = self.reward.rewards(state.features(rows), state.keys(rows))
            rewards[rows] = scored.reward
            terminal = obs[rows]
            lengths = (state.choice[rows] >= 0).sum(axis=1)
            for j, (r, info) in enumerate(zip(rows, scored.infos(state.configs(rows)))):
                info["terminal_observation"] = terminal[j]
                # what SB3's Monitor adds: PPO logs rollout/ep_rew_mean and ep_len_mean from it
                info["episode"] = {"r": float(rewards[r]), "l": int(lengths[j]), "t": 0.0}
                infos[r] = info
            state.reset(rows)
            obs[rows] = state.observations(rows)
        return obs, rewards, done.copy(), infos

    def close(self) -> None:
        pass

    def _n_indices(self, indices: VecEnvIndices) -> int:
        return len(list(self._get_indices(indices)))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The shared value of ``attr_name``, once per index."""
        value = getattr(self, attr_name)  # AttributeError when absent, as SB3 expects
        return [value] * self._n_indices(indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set a shared attribute (for every episode: they share it)."""
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs
    ) -> Any:
        """``"action_masks"``: the ``(len(indices), n_actions)`` mask array in one piece.

        Other methods are the shared ones of this object, called once and repeated per index.
        """
        if method_name == "action_masks":
            if indices is None:
                return self.state.masks.copy()
            return self.state.masks[np.asarray(list(self._get_indices(indices)))]
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result] * self._n_indices(indices)

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False] * self._n_indices(indices)
