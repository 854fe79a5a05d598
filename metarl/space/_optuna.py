"""Conversion between a :class:`SearchSpace` and Optuna distributions.

A Subset maps to one ``CategoricalDistribution([False, True])`` per item, named
``"name[item]"``; an unordered Categorical to a ``CategoricalDistribution``; an ordered
(numeric) Categorical to an ``IntDistribution`` over choice indices (so Optuna's samplers see
the order, as in ``PROTOCOL.md``), Integer/Float to ``IntDistribution``/``FloatDistribution``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from metarl.space._numeric import Fidelity, Float, Integer
from metarl.space._params import Boolean, Categorical, Param, SpaceError
from metarl.space._space import SearchSpace
from metarl.space._subset import Subset
from metarl.type_aliases import Config


def param_to_distributions(p: Param) -> dict[str, BaseDistribution]:
    if isinstance(p, Categorical):
        if p.ordered:
            return {p.name: IntDistribution(0, len(p.choices) - 1)}
        return {p.name: CategoricalDistribution(p.choices)}
    if isinstance(p, Integer):
        return {p.name: IntDistribution(p.low, p.high, log=p.log)}
    if isinstance(p, Float):
        return {p.name: FloatDistribution(float(p.low), float(p.high), log=p.log)}
    if isinstance(p, Fidelity):
        if p.integer:
            return {p.name: IntDistribution(p.low, p.high, log=p.log)}
        return {p.name: FloatDistribution(float(p.low), float(p.high), log=p.log)}
    if isinstance(p, Boolean):
        return {p.name: CategoricalDistribution([False, True])}
    if isinstance(p, Subset):
        return {c: CategoricalDistribution([False, True]) for c in p.column_names}
    raise SpaceError(f"parameter {p.name!r}: no Optuna distribution for {type(p).__name__}")


def to_optuna(space: SearchSpace) -> dict[str, BaseDistribution]:
    """All parameters as Optuna distributions (conditions are not representable there).

    A Fidelity maps to the distribution of its whole range (a trial records the fidelity
    it ran at). A restricted space maps to its parent's distributions, so that trials in
    and out of a focus share one Optuna study (Optuna refuses a parameter whose
    categorical choices change within a study).
    """
    out: dict[str, BaseDistribution] = {}
    for p in space.params.values():
        out.update(param_to_distributions(p))
    return out


def config_to_optuna_params(space: SearchSpace, config: Config) -> dict[str, Any]:
    """A config -> the ``trial.params`` form of :func:`to_optuna`'s distributions."""
    out: dict[str, Any] = {}
    for name, v in config.items():
        p = space.params.get(name)
        if p is None:
            continue
        if isinstance(p, Categorical) and p.ordered:
            out[name] = p.index_of(v)
        elif isinstance(p, Subset):
            chosen = set(v)
            out.update({f"{name}[{it}]": it in chosen for it in p.items})
        else:
            out[name] = v
    return out


def config_from_optuna_params(space: SearchSpace, params: dict[str, Any]) -> Config:
    """Inverse of :func:`config_to_optuna_params`."""
    out: Config = {}
    for name, p in space.params.items():
        if isinstance(p, Subset):
            if any(c in params for c in p.column_names):
                out[name] = tuple(it for it, c in zip(p.items, p.column_names) if params.get(c))
        elif name in params:
            v = params[name]
            out[name] = p.choices[int(v)] if isinstance(p, Categorical) and p.ordered else v
    return out


def checked_config_from_optuna_params(space: SearchSpace, params: dict[str, Any]) -> Config:
    """:func:`config_from_optuna_params` of params that were not written by metarl (e.g.
    the ``fixed_params`` of Optuna's ``study.enqueue_trial``), checked: each key a
    distribution of :func:`to_optuna` (``trial.params`` form: an ordered Categorical as its
    choice's index, a Subset as its ``"name[item]"`` flags), each value inside it, and the
    whole a config of ``space`` (a Fidelity left out is at its full fidelity).

    Raises:
        SpaceError: one line naming the parameter at fault.
    """
    if not isinstance(params, dict) or not params:
        raise SpaceError(f"no parameter values (got {params!r})")
    dists = to_optuna(space)
    for name, v in params.items():
        d = dists.get(name)
        if d is None:
            raise SpaceError(f"unknown parameter {name!r}")
        try:
            inside = d._contains(d.to_internal_repr(v))  # noqa: SLF001 - Optuna's own check
        except (TypeError, ValueError):
            inside = False
        if not inside:
            raise SpaceError(f"parameter {name!r}: {v!r} is outside its range")
    _warn_index_or_value(space, params)
    config = config_from_optuna_params(space, params)
    try:
        M = space.to_matrix([config])
    except SpaceError as e:
        raise SpaceError(str(e).removeprefix("config #0: ")) from None
    filled = space.to_configs(M)[0]  # an active Fidelity left out, at full fidelity
    for name, p in space.params.items():
        if isinstance(p, Fidelity) and name not in config and name in filled:
            config[name] = filled[name]
    return config


def _warn_index_or_value(space: SearchSpace, params: dict[str, Any]) -> None:
    """Warn where an ordered Categorical's given index is also one of its choice values
    (``Categorical([1, 2, 4])`` given 2 means the choice 4): an Optuna user may have meant
    the value."""
    for name, v in params.items():
        p = space.params.get(name)
        if not (isinstance(p, Categorical) and p.ordered) or isinstance(v, bool):
            continue
        if v in p.choices and p.choices.index(v) != v:
            warnings.warn(
                f"parameter {name!r}: {v!r} is read as the index of the choice "
                f"{p.choices[int(v)]!r} (an ordered categorical's params are choice indices; "
                f"give {p.choices.index(v)} for the choice {v!r})",
                UserWarning,
                stacklevel=3,
            )


#: A stepped Int/FloatDistribution with at most this many values maps to an ordered
#: Categorical of them in :func:`from_optuna`; with more, ``step_index=True`` maps it to an
#: :class:`Integer` over the step index (:class:`StepGrid`), whose design grid has bins.
MAX_STEPPED_CHOICES = Integer.default_bins


@dataclass(frozen=True)
class StepGrid:
    """The values ``low + k * step`` (``k = 0 .. n - 1``) of a stepped Optuna distribution,
    searched as the integer ``k`` (:func:`from_optuna`'s ``step_index``)."""

    low: float
    high: float
    step: float
    n: int
    integer: bool

    def index(self, value: Any) -> Any:
        """The step index of ``value``: an int on the grid, else ``value``'s fractional
        position (which an Integer refuses) or ``value`` itself when not a number."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return value
        k = (float(value) - self.low) / self.step
        return int(round(k)) if abs(k - round(k)) < 1e-8 else k

    def value(self, k: Any) -> int | float:
        """The value at step index ``k`` (inside ``[low, high]``)."""
        k = int(k)
        if self.integer:
            return int(min(self.low + k * self.step, self.high))
        if k >= self.n - 1:
            return float(self.high)
        v = self.low + k * self.step
        digits = -min(Decimal(str(self.step)).as_tuple().exponent, 0)  # type: ignore[operator]
        digits = max(digits, -min(Decimal(str(self.low)).as_tuple().exponent, 0))  # type: ignore[operator]
        if digits <= 12:  # the step's decimals: 0.3, not 0.30000000000000004
            v = round(v, digits)
        return float(min(max(v, self.low), self.high))


def step_grid(d: BaseDistribution) -> StepGrid | None:
    """The :class:`StepGrid` of a stepped Int/FloatDistribution with more than
    :data:`MAX_STEPPED_CHOICES` values (None for any other distribution)."""
    if isinstance(d, IntDistribution) and d.step != 1:
        n = (d.high - d.low) // d.step + 1
        integer = True
    elif isinstance(d, FloatDistribution) and d.step is not None:
        n = int(round((d.high - d.low) / d.step)) + 1
        integer = False
    else:
        return None
    if n <= MAX_STEPPED_CHOICES:
        return None
    return StepGrid(d.low, d.high, d.step, int(n), integer)


def step_grids(distributions: Mapping[str, BaseDistribution]) -> dict[str, StepGrid]:
    """name -> :func:`step_grid` of the distributions that have one."""
    return {n: g for n, d in distributions.items() if (g := step_grid(d)) is not None}


def from_optuna(
    distributions: dict[str, BaseDistribution],
    fidelity: Sequence[str] = (),
    *,
    step_index: bool = False,
) -> SearchSpace:
    """Optuna distributions -> a SearchSpace (one parameter each, no conditions).

    A stepped distribution is an ordered Categorical of its values; with ``step_index``,
    one with more than :data:`MAX_STEPPED_CHOICES` values is an :class:`Integer` over its
    step index instead (``Integer(0, n - 1)``: ordered, searched over bins, whatever the
    number of steps), whose config values are indices: :func:`step_grids` converts them.

    Args:
        distributions: name -> distribution, as in ``trial.distributions``.
        fidelity: the names whose Int/FloatDistribution is a :class:`Fidelity` (Optuna does
            not tell them apart).
        step_index: map wide stepped distributions to their step index (see above).
    """
    params: dict[str, Param] = {}
    for name in fidelity:
        d = distributions.get(name)
        if not isinstance(d, (IntDistribution, FloatDistribution)) or d.step not in (None, 1):
            raise SpaceError(f"parameter {name!r}: a fidelity needs an Int/FloatDistribution")
        params[name] = Fidelity(d.low, d.high, log=d.log)
    for name, d in distributions.items():
        if name in params:
            continue
        grid = step_grid(d) if step_index else None
        if grid is not None:
            params[name] = Integer(0, grid.n - 1)
        elif isinstance(d, CategoricalDistribution):
            choices = list(d.choices)
            if sorted(map(str, choices)) == ["False", "True"] and all(
                isinstance(c, (bool, np.bool_)) for c in choices
            ):
                params[name] = Boolean()
            else:
                params[name] = Categorical(choices, ordered=False)
        elif isinstance(d, IntDistribution):
            if d.step != 1:
                params[name] = Categorical(list(range(d.low, d.high + 1, d.step)))
            else:
                params[name] = Integer(d.low, d.high, log=d.log)
        elif isinstance(d, FloatDistribution):
            if d.step is not None:
                n = int(round((d.high - d.low) / d.step)) + 1
                params[name] = Categorical([float(x) for x in np.linspace(d.low, d.high, n)])
            else:
                params[name] = Float(d.low, d.high, log=d.log)
        else:
            raise SpaceError(f"parameter {name!r}: unsupported Optuna distribution {d!r}")
    return SearchSpace({n: params[n] for n in distributions})
