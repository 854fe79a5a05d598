"""An edit environment for metarl's PPO policy: improve a config one parameter at a time.

This file is a plug-in written only against metarl's public API, as an outside user would
write theirs (see the README's "Plug in your own environment"). Importing the ``envs``
package registers it as ``"envs/EditDesign-v0"``; then
``make_policy("ppo", env_id="envs/EditDesign-v0")`` learns in it instead of the default
sequential :class:`metarl.envs.DesignEnv`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl import SearchSpace, learners
from metarl.type_aliases import AcquisitionKind, Config, Direction

#: Spaces up to this many configs get their whole acquisition computed once, in one batched
#: learner call, so a step is a table look-up; larger spaces call the learner every step.
_TABLE_LIMIT = 1 << 18

# learner -> {(space, acquisition, kappa, direction): (acquisition table or None, scale)}, shared by
# the N copies of the env a vectorised trainer makes, and freed with the learner.
_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class EditDesignEnv(gym.Env):
    """Start from a random config; each step sets one parameter to one of its values.

    The design problem seen as local search: where :class:`metarl.envs.DesignEnv` builds a
    config from scratch and is rewarded once, here the agent holds a complete config all
    along and is rewarded for every improvement, which gives PPO a dense signal.

    ## Action Space
    ``Discrete(A)``, A = the total number of options over the space's decisions
    (``space.decisions``): action ``a`` sets one decision (one column: a parameter, or one
    item of a Subset) to one of its options. :meth:`action_masks` (the sb3-contrib
    MaskablePPO convention) allows the actions of the active decisions; an action on an
    inactive decision, from an agent that ignores masks, leaves the config unchanged.
    When a parent's edit activates a child parameter, the child takes the value it had when
    last active (initially a random one), so every state is a valid complete config.

    ## Observation Space
    ``Box(0, 1, (W + 1,), float32)``: the config's encoding (``space.encode_matrix``, context
    features included; W = ``space.encoded_width``) and the elapsed fraction of the horizon.

    ## Rewards
    The change in acquisition caused by the edit, divided by ``scale``: the standard
    deviation of the acquisition over 1,024 random configs, measured at construction, so that
    rewards are O(1) whatever the metric's units. The acquisition is the library's,
    ``metarl.learners.acquisition`` with this env's ``acquisition`` and ``kappa``: the
    predicted mean (``"mean"``), ``mean + kappa*std`` (``"ucb"``) or ``mean - kappa*std``
    (``"lcb"``), signed so that higher is better, on the learner's standardised target scale.
    It is the function the PPO policy ranks its proposals by, so PPO optimises here what
    decides which configs it proposes. The return of an episode is thus the improvement from
    the start config to the final one. A final config in ``exclude`` costs
    ``exclude_penalty`` more.

    ## Episode End
    Terminates after ``horizon`` edits (default: the number of decisions, enough to reach
    any config from any other). ``info`` at the last step holds the final ``"config"`` (as
    the plug-in contract, ``metarl.envs.DesignEnvKwargs``, asks), its predicted mean
    (``"prediction"``) and std (``"std"``) on the metric's scale, and its ``"acquisition"``.

    Args:
        space: the search space.
        learner: a meta-learner fitted on ``space.encode`` features.
        direction: ``"minimize"`` or ``"maximize"`` (the learner's first target).
        acquisition: ``"mean"``, ``"ucb"`` or ``"lcb"`` (see ``metarl.learners.acquisition``;
            ``"ei"`` is refused: the env gets no incumbent to improve on).
        kappa: weight of the predictive std in ``ucb``/``lcb``.
        exclude: configs already evaluated or pending.
        exclude_penalty: cost, in reward units, of ending on an excluded config.
        horizon: edits per episode.
        render_mode: ``None`` or ``"ansi"`` (the current config and its acquisition as text).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"]}

    def __init__(
        self,
        space: SearchSpace,
        learner: Any,
        direction: Direction = "minimize",
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        exclude: Sequence[Config] = (),
        exclude_penalty: float = 1.0,
        horizon: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise TypeError(f"space must be a metarl SearchSpace, got {type(space).__name__}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.space = space
        self.learner = learner
        self.direction = direction
        self.acquisition = acquisition
        self.kappa = float(kappa)
        self.exclude_penalty = float(exclude_penalty)
        self._decisions = space.decisions
        self.horizon = int(horizon) if horizon is not None else len(self._decisions)
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        # action a -> (decision column, option value)
        self._act_col = np.concatenate(
            [np.full(len(d.options), d.column) for d in self._decisions]
        ).astype(np.int64)
        self._act_val = np.concatenate([d.options for d in self._decisions]).astype(np.float64)
        self._act_param = np.concatenate(
            [np.full(len(d.options), d.index) for d in self._decisions]
        ).astype(np.int64)
        self.action_space = spaces.Discrete(len(self._act_col))
        self.observation_space = spaces.Box(
            0.0, 1.0, shape=(space.encoded_width + 1,), dtype=np.float32
        )
        self._exclude = set(space.keys(space.to_matrix(list(exclude)))) if exclude else set()
        self._table, self.scale = self._shared_tables()
        self._conditional = space.conditional
        self._all_actions = np.ones(self.action_space.n, dtype=bool)
        self._encodings: dict[bytes, np.ndarray] = {}
        self._full = np.zeros(space.n_columns)  # every column's latest value, active or not
        self._t = 0
        self._value = 0.0

    # ------------------------------------------------------------------ acquisition
    def _shared_tables(self) -> tuple[dict[bytes, tuple[float, float, float]] | None, float]:
        """The space's (acquisition, mean, std) per config key when the space is small
        enough, and the reward scale."""
        space = self.space
        key = (space.fingerprint(), tuple(sorted(space.context_values.items())),
               self.acquisition, self.kappa, self.direction)  # fmt: skip
        try:
            per_learner = _SHARED.setdefault(self.learner, {})
        except TypeError:  # a learner that cannot be weakly referenced: no sharing
            per_learner = {}
        if key not in per_learner:
            table = None
            if space.cardinality <= _TABLE_LIMIT:
                M = np.concatenate(list(space.enumerate()))
                acq, mu, sd = self._predict(M)
                table = dict(zip(space.keys(M), zip(acq.tolist(), mu.tolist(), sd.tolist())))
            probe = space.snap_to_grid(space.sample_matrix(1024, np.random.default_rng(0)))
            per_learner[key] = (table, float(np.std(self._predict(probe)[0])) or 1.0)
        return per_learner[key]

    def _predict(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Acquisition (higher is better), predicted mean and std of the first target, from
        one learner call."""
        acq, mu, sd = learners.acquisition(
            self.learner,
            self.space.encode_matrix(M),
            self.acquisition,
            self.kappa,
            self.direction,
            return_prediction=True,
        )
        return acq, mu[:, 0], sd[:, 0]

    def _config_matrix(self) -> np.ndarray:
        """The current config: the full row with inactive columns set to NaN."""
        M = self._full[None].copy()
        if not self._conditional:
            return M
        act = self.space.active_matrix(M)[0]
        for i, name in enumerate(self.space.names):
            if not act[i]:
                M[0, self.space.column_slices[name]] = np.nan
        return M

    def _value_of(self, M: np.ndarray, key: bytes) -> tuple[float, float, float]:
        if self._table is not None:
            return self._table[key]
        acq, mu, sd = self._predict(M)
        return float(acq[0]), float(mu[0]), float(sd[0])

    def _obs(self, M: np.ndarray, key: bytes) -> np.ndarray:
        enc = self._encodings.get(key)
        if enc is None:
            if len(self._encodings) > 100_000:  # bound the memory of long trainings
                self._encodings.clear()
            enc = self._encodings[key] = self.space.encode_matrix(M)[0]
        return np.append(enc, np.float32(self._t / self.horizon))

    # ------------------------------------------------------------------ gymnasium API
    def action_masks(self) -> np.ndarray:
        """Which actions edit an active decision (bool, one per action)."""
        if not self._conditional:
            return self._all_actions
        act = self.space.active_matrix(self._config_matrix())[0]
        return act[self._act_param]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._full = self.space.snap_to_grid(self.space.sample_matrix(1, self.np_random))[0]
        # a random full row: inactive columns get a random value too, used if activated
        for d in self._decisions:
            if np.isnan(self._full[d.column]):
                self._full[d.column] = d.options[self.np_random.integers(len(d.options))]
        self._t = 0
        M = self._config_matrix()
        key = self.space.keys(M)[0]
        self._value = self._value_of(M, key)[0]
        return self._obs(M, key), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action {action!r} is outside Discrete({self.action_space.n})")
        if self.action_masks()[a]:
            self._full[self._act_col[a]] = self._act_val[a]
        self._t += 1
        M = self._config_matrix()
        key = self.space.keys(M)[0]
        value, mu, sd = self._value_of(M, key)
        reward = (value - self._value) / self.scale
        self._value = value
        terminated = self._t >= self.horizon
        info: dict[str, Any] = {}
        if terminated:
            if key in self._exclude:
                reward -= self.exclude_penalty
            info = {
                "config": self.space.to_configs(M)[0],
                "prediction": mu,
                "std": sd,
                "acquisition": value,
            }
        return self._obs(M, key), float(reward), terminated, False, info

    def render(self) -> str | None:
        """With ``render_mode="ansi"``: the current config and its acquisition, as text."""
        if self.render_mode != "ansi":
            return None
        config = self.space.to_configs(self._config_matrix())[0]
        return f"t={self._t}/{self.horizon} acquisition={self._value:.4g} {config}"
