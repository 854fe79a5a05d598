"""The design environment: build a config one decision at a time, rewarded by the
meta-learner's prediction for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl.envs._contract import renamed_reward
from metarl.envs._reward import Constraints, DesignReward
from metarl.envs._state import DesignState
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Config, ConfigMatrix, Direction


def build_design(
    space: SearchSpace,
    learner: MetaLearner,
    n: int,
    exclude: Sequence[Config] | ConfigMatrix,
    **reward_kwargs: Any,
) -> tuple[DesignReward, DesignState]:
    """The parts both design envs are made of: the reward and a batch of ``n`` partial
    configs, with ``exclude`` penalised and the prediction table built."""
    reward = DesignReward(space, learner, **reward_kwargs)
    state = DesignState(space, n)
    reward.set_excluded(_exclusion_keys(state, exclude))
    reward.build_table(state)
    return reward, state


def _exclusion_keys(state: DesignState, exclude: Sequence[Config] | ConfigMatrix) -> np.ndarray:
    """Keys of the configs in ``exclude`` (validated; configs off the design grid, which no
    episode can build, are dropped)."""
    if isinstance(exclude, np.ndarray):
        M = exclude
    else:
        exclude = list(exclude)
        if not exclude:
            return np.empty(0, dtype=np.uint64)
        M = state.space.to_matrix(exclude)
    ch = state.choices_of(M, strict=False)
    return state.key_of_choices(ch[ch[:, 0] != -2])


class DesignEnv(gym.Env[np.ndarray, np.int64]):
    """Construct a training config one design decision at a time; the reward is the
    meta-learner's acquisition for the finished config.

    One step is one active decision, in ``space.decisions`` order (parents first): a
    Categorical/Boolean/Integer picks a value, a Float picks one of its bins, a Subset is one
    on/off decision per item. Decisions of inactive (conditional) parameters are skipped, so
    episodes of a conditional space have different lengths. The episode terminates when the
    config is complete; it never truncates.

    Registered as ``gymnasium.make("metarl/Design-v0", space=..., learner=..., ...)``; its
    constructor takes the plug-in contract's keywords (:class:`DesignEnvKwargs`), as every
    environment the PPO policy trains in must.

    ## Action Space
    ``Discrete(n_actions)``, ``n_actions`` the largest number of options of any decision; the
    action is an option's index. :meth:`action_masks` gives the valid ones (the sb3-contrib
    ``MaskablePPO`` convention): options past the current decision's count are invalid, and so
    is a Subset item's "off" when the remaining items are all needed for ``min_size``. An
    invalid action is mapped to the ``(action mod n_valid)``-th valid option, deterministic
    and never an error.

    ## Observation Space
    ``Box(0, 1, (W + 2 * D,), float32)``, W = ``space.encoded_width``, D = number of
    decisions: the partial encoding so far (``space.encode`` of the config with undecided
    parameters inactive; the context features at its end), which decisions are made, and the
    current decision one-hot (all zero at the end). See :class:`DesignState`.

    ## Rewards
    0 until the last step, then the acquisition of the finished config (mean, or mean +/-
    kappa * std), signed so that higher is better and standardised over a random reference
    sample of the space (``reward_offset_``, ``reward_scale_``); infeasible (constraints) or
    excluded configs are capped at ``infeasible_reward``/``exclude_reward``. See
    :class:`DesignReward` (the env's :attr:`reward`). The last step's ``info`` holds
    ``"config"``, ``"prediction"`` (the objective's predicted mean), ``"std"``,
    ``"acquisition"`` (unscaled), ``"feasible"``, ``"excluded"`` and ``"predictions"`` (every
    target's mean, by name).

    Args:
        space: the search space (with its context values set, if it has context).
        learner: a meta-learner fitted on ``space.encode(...)`` features.
        direction: whether the objective is minimised or maximised.
        acquisition: ``"mean"``, ``"ucb"`` (optimistic) or ``"lcb"`` (conservative), as in
            :func:`metarl.learners.acquisition` and the policies (``"ei"`` is refused: the
            environment gets no incumbent to improve on).
        kappa: weight of the predictive std in ``"ucb"``/``"lcb"``.
        target: the objective's target name for a multi-target learner (default: the first).
        constraints: ``{metric: (op, bound)}`` on other targets' predicted means, e.g.
            ``{"train_time": ("<=", 100.0)}``.
        exclude: configs (dicts or a value matrix) already evaluated or pending; they are
            penalised so the policy looks elsewhere. Matched exactly on the design grid.
        infeasible_reward: cap on the reward of an infeasible config.
        exclude_reward: cap on the reward of an excluded config.
        n_reference: size of the random sample that standardises rewards.
        reference_seed: seed of that sample.
        reward_offset: fixed offset instead of the reference sample's mean.
        reward_scale: fixed scale instead of the reference sample's std.
        precompute: predict the whole design grid once and look rewards up (None: when it
            holds at most ``precompute_max`` configs). Call :meth:`refresh` after refitting
            the learner in place.
        precompute_max: the largest grid ``precompute=None`` tabulates.
        render_mode: ``None`` or ``"ansi"`` (the partial config as text).
        reward: deprecated, the old name of ``acquisition`` (a ``FutureWarning``).

    Raises:
        ValueError: bad ``direction``/``acquisition``/``kappa``/``target``, an unknown
            constraint metric, or a learner fitted on a different encoding width.
        sklearn.exceptions.NotFittedError: the learner is not fitted.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        space: SearchSpace,
        learner: MetaLearner,
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
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.space = space
        self.learner = learner
        self.render_mode = render_mode
        self.reward, self.state = build_design(
            space,
            learner,
            1,
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
        self.action_space = spaces.Discrete(self.state.n_actions)
        self.observation_space = spaces.Box(0.0, 1.0, (self.state.obs_dim,), dtype=np.float32)

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

    def actions_for(self, config: Config) -> list[int]:
        """The action sequence that builds ``config`` (which must be on the design grid)."""
        return self.state.actions_for([config])[0]

    def action_masks(self) -> np.ndarray:
        """(n_actions,) bool: the valid actions now (only action 0 once the episode is over)."""
        return self.state.masks[0].copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)  # the dynamics are deterministic; np_random is unused
        self.state.reset()
        return self.state.observations()[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state.done[0]:
            raise RuntimeError("the episode is over: call reset() before step()")
        done = bool(self.state.step(np.asarray([action]))[0])
        obs = self.state.observations()[0]
        if not done:
            return obs, 0.0, False, False, {}
        rows = np.zeros(1, dtype=np.int64)
        rewards = self.reward.rewards(self.state.features(rows), self.state.keys(rows))
        info = rewards.infos(self.state.configs(rows))[0]
        return obs, float(rewards.reward[0]), True, False, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return repr(self.state.configs()[0])
        return None
