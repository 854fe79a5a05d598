"""The terminal reward of the design environments: the learner's acquisition (see
``metarl.learners.acquisition``), scaled for PPO, with constraints on other predicted metrics,
a penalty for excluded configs, and a table of the whole grid's predictions."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metarl.envs._state import DesignState
from metarl.learners._acquisition import (
    acquisition,
    check_acquisition,
    check_direction,
    check_learner,
)
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Config, Direction

#: ``{metric: (op, bound)}``, e.g. ``{"train_time": ("<=", 100.0)}``.
Constraints = Mapping[str, tuple[str, float]]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


def check_design_acquisition(acquisition: str, kappa: float) -> tuple[AcquisitionKind, float]:
    """:func:`~metarl.learners._acquisition.check_acquisition`, refusing ``"ei"``: a
    design environment's reward gets no incumbent to improve on (the contract,
    :class:`~metarl.envs.DesignEnvKwargs`, carries none), so PPO cannot optimise it.

    Raises:
        ValueError: what ``check_acquisition`` refuses, or ``"ei"``.
    """
    kind, kappa = check_acquisition(acquisition, kappa)
    if kind == "ei":
        raise ValueError(
            "acquisition 'ei' is not available in the design environments, hence to the ppo "
            "policy: their reward gets no incumbent to improve on; use 'ucb', 'lcb' or 'mean'"
        )
    return kind, kappa


@dataclass
class Rewards:
    """The terminal rewards of a batch of complete configs and what they come from (one
    entry per config)."""

    #: (m, k) predicted mean of every target, on the metrics' own scales.
    predictions: np.ndarray
    #: (m,) predictive std of the objective.
    std: np.ndarray
    #: (m,) acquisition, signed so that higher is better, before scaling.
    acquisition: np.ndarray
    #: (m,) whether every constraint holds.
    feasible: np.ndarray
    #: (m,) whether the config is in ``exclude``.
    excluded: np.ndarray
    #: (m,) float32 terminal reward.
    reward: np.ndarray
    target: int
    target_names: list[str]

    def infos(self, configs: Sequence[Config]) -> list[dict[str, Any]]:
        """The ``info`` dict of each finished episode."""
        names, t = self.target_names, self.target
        return [
            {
                "config": cfg,
                "prediction": float(self.predictions[i, t]),
                "std": float(self.std[i]),
                "acquisition": float(self.acquisition[i]),
                "feasible": bool(self.feasible[i]),
                "excluded": bool(self.excluded[i]),
                "predictions": dict(zip(names, self.predictions[i].tolist())),
            }
            for i, cfg in enumerate(configs)
        ]


class DesignReward:
    """Rewards complete configs with a fitted meta-learner's acquisition.

    Acquisition (``metarl.learners.acquisition``, signed so that higher is better;
    ``s = -1`` to minimise, ``+1`` to maximise, ``mu``/``sd`` the predicted mean and std of
    the objective target on the learner's standardised target scale, see
    ``metarl.learners.predict_for_acquisition``):

    - ``"mean"``: ``s * mu``;
    - ``"ucb"``: ``s * mu + kappa * sd`` (optimistic, explores);
    - ``"lcb"``: ``s * mu - kappa * sd`` (conservative);
    - ``"ei"`` is refused (:func:`check_design_acquisition`): no incumbent reaches the reward.

    Scaling: rewards are standardised, ``reward = (acq - reward_offset_) / reward_scale_``,
    where offset and scale are the mean and standard deviation of the acquisition over
    ``n_reference`` random configs of the design grid (drawn with ``reference_seed`` at
    construction), so a random policy's rewards are about N(0, 1), the range PPO's default
    hyperparameters handle well. Pass ``reward_offset``/``reward_scale`` to fix them instead.

    Constraints ``{metric: (op, bound)}`` (op one of ``<=``, ``<``, ``>=``, ``>``) are checked
    on the predicted mean of other targets of a multi-target learner. An infeasible config
    gets ``min(reward, infeasible_reward)``, so it never scores above ``infeasible_reward``
    (default -3: three reference standard deviations below a random config) nor above what
    it would have scored if feasible. A config in ``exclude`` gets
    ``min(reward, exclude_reward)`` the same way.

    Prediction table: when the design grid holds at most ``precompute_max`` configs (or
    ``precompute=True``), :meth:`build_table` predicts every config of the grid once, in
    chunks, and :meth:`rewards` then looks configs up by key (``np.searchsorted``) instead
    of calling the learner, which makes an env step independent of the learner's cost. The
    table (and the reference scaling) are snapshots: after refitting the learner in place,
    call :meth:`refresh`. With ``precompute=False`` every :meth:`rewards` calls the learner.

    Raises:
        ValueError: a bad ``direction``, ``acquisition`` (``"ei"`` included), ``kappa``,
            ``target`` or constraint, or a learner fitted on a different encoding width.
        sklearn.exceptions.NotFittedError: the learner is not fitted.
    """

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
        infeasible_reward: float = -3.0,
        exclude_reward: float = -3.0,
        n_reference: int = 1024,
        reference_seed: int = 0,
        reward_offset: float | None = None,
        reward_scale: float | None = None,
        precompute: bool | None = None,
        precompute_max: int = 65536,
    ) -> None:
        check_direction(direction)
        self.space = space
        self.learner = learner
        self.direction = direction
        self.acquisition, self.kappa = check_design_acquisition(acquisition, kappa)
        self.infeasible_reward = float(infeasible_reward)
        self.exclude_reward = float(exclude_reward)
        check_learner(space, learner)
        names = list(getattr(learner, "target_names_", None) or ["y0"])
        self.target_names = names
        if target is None:
            self.target = 0
        elif target in names:
            self.target = names.index(target)
        else:
            raise ValueError(f"unknown target {target!r}; the learner predicts {names}")
        self.constraints = self._parse_constraints(constraints or {}, names)
        self._excluded = np.empty(0, dtype=np.uint64)
        if reward_scale is not None and not float(reward_scale) > 0:
            raise ValueError(f"reward_scale must be > 0, got {reward_scale!r}")
        if isinstance(n_reference, bool) or not isinstance(n_reference, int) or n_reference < 2:
            raise ValueError(f"n_reference must be an int >= 2, got {n_reference!r}")
        self._fixed = (reward_offset, reward_scale)
        self._reference_args = (n_reference, reference_seed)
        self.precompute = precompute
        self.precompute_max = int(precompute_max)
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._state: DesignState | None = None
        self._calibrate()

    def _calibrate(self) -> None:
        offset, scale = self._fixed
        if offset is None or scale is None:
            ref_offset, ref_scale = self._reference(*self._reference_args)
            offset = ref_offset if offset is None else offset
            scale = ref_scale if scale is None else scale
        self.reward_offset_ = float(offset)
        self.reward_scale_ = float(scale)

    def build_table(self, state: DesignState) -> bool:
        """Predict the whole design grid once (see the class docstring); True when built.

        Args:
            state: the state whose keys :meth:`rewards` will receive.
        """
        self._state, self._table = state, None
        want = self.precompute
        if want is False or (want is None and self.space.cardinality > self.precompute_max):
            return False
        keys, mus, sds, acqs = [], [], [], []
        for M in self.space.enumerate(chunk_size=16384, max_configs=10**12):
            keys.append(state.key_of_choices(state.choices_of(M)))
            mu, sd, acq = self._predict(self.space.encode_matrix(M))
            mus.append(mu)
            sds.append(sd)
            acqs.append(acq)
        k = np.concatenate(keys)
        order = np.argsort(k)
        k = k[order]
        if (k[1:] == k[:-1]).any():  # a 64-bit key collision: astronomically rare
            return False
        cols = [np.concatenate(a)[order] for a in (mus, sds, acqs)]
        self._table = (k, cols[0], cols[1], cols[2])
        return True

    @property
    def has_table(self) -> bool:
        """Whether :meth:`rewards` looks predictions up instead of calling the learner."""
        return self._table is not None

    def refresh(self) -> None:
        """Recompute the reference scaling and the table (after refitting the learner)."""
        check_learner(self.space, self.learner)
        self._calibrate()
        if self._state is not None:
            self.build_table(self._state)

    @staticmethod
    def _parse_constraints(
        constraints: Constraints, names: list[str]
    ) -> list[tuple[int, Callable[[Any, Any], Any], float]]:
        if not isinstance(constraints, Mapping):
            raise ValueError(f"constraints must be a mapping, got {type(constraints).__name__}")
        out = []
        for metric, spec in constraints.items():
            if metric not in names:
                raise ValueError(
                    f"unknown constraint metric {metric!r}; the learner predicts {names}"
                )
            ok = isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] in _OPS
            if not ok or isinstance(spec[1], bool) or not isinstance(spec[1], (int, float)):
                raise ValueError(
                    f"constraint on {metric!r} must be (op, number) with op in {list(_OPS)}, "
                    f"got {spec!r}"
                )
            out.append((names.index(metric), _OPS[spec[0]], float(spec[1])))
        return out

    def _reference(self, n: int, seed: int) -> tuple[float, float]:
        M = self.space.snap_to_grid(self.space.sample_matrix(n, seed=seed))
        acq = self._predict(self.space.encode_matrix(M))[2]
        scale = float(acq.std())
        return float(acq.mean()), scale if scale > 1e-12 else 1.0

    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        acq, mu, sd = acquisition(
            self.learner,
            X,
            self.acquisition,
            self.kappa,
            self.direction,
            self.target,
            return_prediction=True,
        )
        return mu, sd[:, self.target], acq

    def set_excluded(self, keys: np.ndarray) -> None:
        """Set the keys (``DesignState.keys``) of the configs to penalise."""
        self._excluded = np.unique(np.asarray(keys, dtype=np.uint64))

    def rewards(self, X: np.ndarray, keys: np.ndarray | None = None) -> Rewards:
        """Reward complete configs: encoded ``X`` and their ``DesignState.keys``.

        One learner call for the whole batch, or none when the table holds them.
        """
        if self._table is not None and keys is not None:
            tk, tmu, tsd, tacq = self._table
            i = np.minimum(np.searchsorted(tk, keys), len(tk) - 1)
            mu, sd, acq = tmu[i], tsd[i], tacq[i]
            miss = tk[i] != keys
            if miss.any():  # not on the enumerated grid: ask the learner
                mu, sd, acq = mu.copy(), sd.copy(), acq.copy()
                mu[miss], sd[miss], acq[miss] = self._predict(X[miss])
        else:
            mu, sd, acq = self._predict(X)
        reward = (acq - self.reward_offset_) / self.reward_scale_
        feasible = np.ones(len(X), dtype=bool)
        for t, op, bound in self.constraints:
            feasible &= op(mu[:, t], bound)
        reward = np.where(feasible, reward, np.minimum(reward, self.infeasible_reward))
        excluded = np.zeros(len(X), dtype=bool)
        if keys is not None and len(self._excluded):
            excluded = np.isin(keys, self._excluded)
            reward = np.where(excluded, np.minimum(reward, self.exclude_reward), reward)
        return Rewards(
            mu,
            sd,
            acq,
            feasible,
            excluded,
            reward.astype(np.float32),
            self.target,
            self.target_names,
        )
