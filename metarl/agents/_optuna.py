"""Optuna's TPESampler and GPSampler as policies, for comparisons.

Each ``propose`` builds an in-memory Optuna study, tells it the evaluated ``history`` as
completed trials, and asks it for configs (define-by-run, so conditional parameters are
suggested only when active). Ordered numeric Categoricals are suggested as choice indices
(``suggest_int``), the others with ``suggest_categorical``, as in ``PROTOCOL.md``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._threads import torch_threads
from metarl.learners._acquisition import check_direction
from metarl.space import (
    SearchSpace,
    Subset,
    config_from_optuna_params,
    config_to_optuna_params,
    to_optuna,
)
from metarl.type_aliases import Config, ConfigMatrix


def _suggest(trial: optuna.Trial, name: str, d: BaseDistribution) -> Any:
    if isinstance(d, IntDistribution):
        return trial.suggest_int(name, d.low, d.high, log=d.log)
    if isinstance(d, FloatDistribution):
        return trial.suggest_float(name, d.low, d.high, log=d.log)
    if isinstance(d, CategoricalDistribution):
        return trial.suggest_categorical(name, d.choices)
    raise TypeError(f"parameter {name!r}: unsupported distribution {d!r}")


def suggest_config(trial: optuna.Trial, space: SearchSpace) -> Config:
    """Suggest a config of ``space`` in ``trial``, parents first, active parameters only."""
    dists = to_optuna(space)
    row = np.full((1, space.n_columns), np.nan)
    params: dict[str, Any] = {}
    for i, (name, p) in enumerate(space.params.items()):
        if p.active_if and not space.active_matrix(row)[0, i]:
            continue
        names = p.column_names if isinstance(p, Subset) else [name]
        for col in names:
            params[col] = _suggest(trial, col, dists[col])
        cfg = config_from_optuna_params(space, {k: params[k] for k in names})
        row[0, space.column_slices[name]] = p.from_value(cfg[name])
    return config_from_optuna_params(space, params)


class _OptunaPolicy(ScoredPolicy):
    """An Optuna sampler driven through an in-memory study told the history.

    Args:
        sampler_kwargs: passed to the Optuna sampler (its ``seed`` comes from ``seed``).
        max_asks_factor: asks per wanted config before giving up on finding new ones.
        n_threads: torch CPU threads while asking (restored afterwards; see
            :func:`torch_threads`).
        seed: seed of the random state.
    """

    requires_learner = False

    def __init__(
        self,
        *,
        sampler_kwargs: dict[str, Any] | None = None,
        max_asks_factor: int = 10,
        n_threads: int | None = 1,
        seed: int | None = None,
    ) -> None:
        super().__init__(min_distance=1, seed=seed)
        self.sampler_kwargs = sampler_kwargs
        self.max_asks_factor = max_asks_factor
        self.n_threads = n_threads

    @abstractmethod
    def _make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """The Optuna sampler, seeded from the policy's random state."""

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        space = problem.space
        check_direction(problem.direction)
        seed = int(problem.rng.integers(2**31))
        study = _quiet_study(problem.direction, self._make_sampler(seed))
        dists = to_optuna(space)
        trials = []
        for cfg, value in problem.history:
            params = config_to_optuna_params(space, cfg)
            trials.append(
                optuna.trial.create_trial(
                    params=params,
                    distributions={k: dists[k] for k in params},
                    value=float(value),
                )
            )
        study.add_trials(trials)
        taken = set(problem.exclude)
        rows = []
        with torch_threads(self.n_threads):
            for _ in range(self.max_asks_factor * problem.n + len(problem.exclude)):
                trial = study.ask()  # left running: TPE's constant liar spreads the batch
                M = space.to_matrix([suggest_config(trial, space)])
                key = space.keys(M)[0]
                if key not in taken:
                    taken.add(key)
                    rows.append(M[0])
                    if len(rows) == problem.n:
                        break
        M = np.asarray(rows).reshape(len(rows), space.n_columns)
        return M, -np.arange(len(M), dtype=np.float64)  # keep the sampler's order


class TPEPolicy(_OptunaPolicy):
    """Optuna's ``TPESampler`` (model-free: proposes from ``history``)."""

    name = "tpe"

    def _make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(**{"seed": seed, **(self.sampler_kwargs or {})})


class GPPolicy(_OptunaPolicy):
    """Optuna's ``GPSampler`` (model-free: proposes from ``history``)."""

    name = "gp"

    def _make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GPSampler(**{"seed": seed, **(self.sampler_kwargs or {})})


def _quiet_study(direction: str, sampler: optuna.samplers.BaseSampler) -> optuna.Study:
    """A throw-away in-memory study, without Optuna's "A new study created" line (one per
    proposal would flood the user's console)."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.create_study(direction=direction, sampler=sampler)
    finally:
        optuna.logging.set_verbosity(level)
