"""Optuna's TPESampler and GPSampler as policies, for comparisons.

Each ``propose`` builds an in-memory Optuna study, tells it the evaluated ``history`` as
completed trials, and asks it for configs (define-by-run, so conditional parameters are
suggested only when active). Ordered numeric Categoricals are suggested as choice indices
(``suggest_int``), the others with ``suggest_categorical``, as in ``PROTOCOL.md``.

A restricted space (a focus) is searched inside its focus: the sampler's distributions are
the focus's (:func:`focus_distributions`), and it learns from the history inside it (at
full fidelity only, where the loop chooses a :class:`~metarl.space.Fidelity`). A
Subset is one on/off decision per item; a suggestion below its ``min_size`` gets random
free items added (:func:`suggest_config`).
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
    Boolean,
    Categorical,
    Fidelity,
    Float,
    Integer,
    Param,
    SearchSpace,
    Subset,
)
from metarl.space._optuna import param_to_distributions
from metarl.type_aliases import Config, ConfigMatrix


def _suggest(trial: optuna.Trial, name: str, d: BaseDistribution) -> Any:
    if isinstance(d, IntDistribution):
        return trial.suggest_int(name, d.low, d.high, log=d.log)
    if isinstance(d, FloatDistribution):
        return trial.suggest_float(name, d.low, d.high, log=d.log)
    if isinstance(d, CategoricalDistribution):
        return trial.suggest_categorical(name, d.choices)
    raise TypeError(f"parameter {name!r}: unsupported distribution {d!r}")


def focus_distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Optuna distributions of the region ``space`` designs in: its focus, if restricted.

    Unlike :func:`~metarl.space.to_optuna` (the parent's distributions, for storage),
    these keep an Optuna sampler inside the focus: an ordered Categorical is an
    ``IntDistribution`` over the positions of its allowed choices (its order kept), an
    unordered one a ``CategoricalDistribution`` of them, a number its focus range, a Subset
    item included or excluded by the focus a one-value distribution, and a Fidelity its
    full value (the loop, not the design, chooses fidelities) unless ``search``.
    """
    out: dict[str, BaseDistribution] = {}
    for name, p in space.params.items():
        if isinstance(p, Categorical):
            codes = p.grid()
            if p.ordered:
                out[name] = IntDistribution(0, len(codes) - 1)
            else:
                out[name] = CategoricalDistribution([p.choices[int(c)] for c in codes])
        elif isinstance(p, Boolean):
            out[name] = CategoricalDistribution([bool(c) for c in p.grid()])
        elif isinstance(p, Subset):
            for col, grid in zip(p.column_names, p.column_grids()):
                out[col] = CategoricalDistribution([bool(v) for v in grid])
        elif isinstance(p, Fidelity) and not p.search:
            full = p.full
            out[name] = IntDistribution(full, full) if p.integer else FloatDistribution(full, full)
        elif isinstance(p, (Integer, Float)):
            lo, hi = p.bounds
            kind = IntDistribution if isinstance(p, Integer) else FloatDistribution
            out[name] = kind(lo, hi, log=p.log)
        else:
            out.update(param_to_distributions(p))
    return out


def _at_full(space: SearchSpace, M: ConfigMatrix) -> np.ndarray:
    """(n,) bool: the rows whose fidelities not searched by the design are at ``full`` (or
    inactive): the others lie outside :func:`focus_distributions`."""
    ok = np.ones(len(M), dtype=bool)
    for name in space.fidelity_names:
        p = space.params[name]
        if not p.search:  # type: ignore[attr-defined]
            col = np.asarray(M, dtype=np.float64)[:, space.column_slices[name].start]
            ok &= np.isnan(col) | np.isclose(col, float(p.full))  # type: ignore[attr-defined]
    return ok


def to_focus_params(space: SearchSpace, config: Config) -> dict[str, Any]:
    """A config -> params of :func:`focus_distributions` (ordered choices as positions)."""
    out: dict[str, Any] = {}
    for name, v in config.items():
        p = space.params.get(name)
        if isinstance(p, Categorical) and p.ordered:
            out[name] = int(np.searchsorted(p.grid(), p.index_of(v)))
        elif isinstance(p, Subset):
            chosen = set(v)
            out.update({f"{name}[{it}]": it in chosen for it in p.items})
        elif p is not None:
            out[name] = v
    return out


def _value(p: Param, params: dict[str, Any], name: str) -> Any:
    """The config value of ``p`` in suggested ``params`` (inverse of
    :func:`to_focus_params`)."""
    if isinstance(p, Subset):
        return tuple(it for it, c in zip(p.items, p.column_names) if params.get(c))
    if isinstance(p, Categorical) and p.ordered:
        return p.choices[int(p.grid()[int(params[name])])]
    return params[name]


def suggest_config(
    trial: optuna.Trial, space: SearchSpace, rng: np.random.Generator | None = None
) -> Config:
    """Suggest a config of ``space`` (inside its focus) in ``trial``, parents first, active
    parameters only.

    A Subset whose suggested items fall short of ``min_size`` (each item is an independent
    on/off decision for Optuna) gets free items added at random with ``rng`` (default:
    seeded by the trial's number), so that the config is valid.
    """
    dists = focus_distributions(space)
    row = np.full((1, space.n_columns), np.nan)
    params: dict[str, Any] = {}
    config: Config = {}
    for i, (name, p) in enumerate(space.params.items()):
        if p.active_if and not space.active_matrix(row)[0, i]:
            continue
        for col in p.column_names if isinstance(p, Subset) else [name]:
            params[col] = _suggest(trial, col, dists[col])
        value = _value(p, params, name)
        if isinstance(p, Subset) and len(value) < p.min_size:
            gen = rng if rng is not None else np.random.default_rng(trial.number)
            value = _fill(p, value, gen)
        config[name] = value
        row[0, space.column_slices[name]] = p.from_value(value)
    return config


def _fill(p: Subset, value: tuple[str, ...], rng: np.random.Generator) -> tuple[str, ...]:
    """``value`` with free items (neither in it nor excluded by the focus) added at random
    up to ``min_size``."""
    on = set(value)
    free = [it for it, g in zip(p.items, p.column_grids()) if len(g) > 1 and it not in on]
    extra = rng.choice(len(free), p.min_size - len(on), replace=False)
    on |= {free[int(j)] for j in extra}
    return tuple(it for it in p.items if it in on)


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
        dists = focus_distributions(space)
        history = list(problem.history)
        if history:  # a sampler kept inside the focus learns from the history there, and
            # (its loop-chosen fidelities held at full) from the full-fidelity results only
            M = space.to_matrix([cfg for cfg, _ in history])
            keep = space.contains_matrix(M) & _at_full(space, M)
            history = [h for h, k in zip(history, keep) if k]
        trials = []
        for cfg, value in history:
            params = to_focus_params(space, cfg)
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
                M = space.to_matrix([suggest_config(trial, space, problem.rng)])
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
