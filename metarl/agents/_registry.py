"""Policies by name: the built-in ones, those added with :func:`register_policy`, and those
published by other packages in the ``metarl.policies`` entry-point group."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from metarl._defaults import ENUMERABLE, default_policy_kwargs, resolve_policy_name
from metarl.agents._base import SearchPolicy
from metarl.space import SearchSpace

ENTRY_POINT_GROUP = "metarl.policies"

# Lazy "module:Class" strings, so that importing metarl does not import SB3 or Optuna.
_REGISTRY: dict[str, str | type[SearchPolicy]] = {
    "random": "metarl.agents._sampling:RandomPolicy",
    "surrogate_sampling": "metarl.agents._sampling:SurrogateSampling",
    "exhaustive": "metarl.agents._sampling:Exhaustive",
    "evolution": "metarl.agents._evolution:RegularizedEvolution",
    "tpe": "metarl.agents._optuna:TPEPolicy",
    "gp": "metarl.agents._optuna:GPPolicy",
    "ppo": "metarl.agents._ppo:PPOPolicy",
}


def register_policy(name: str, cls: type[SearchPolicy] | str, *, overwrite: bool = False) -> None:
    """Make ``make_policy(name)`` build ``cls``.

    Args:
        name: the policy's id (as YAML configs and ``metarl compare`` name it).
        cls: a :class:`SearchPolicy` subclass, or a lazy ``"module:Class"`` string.
        overwrite: allow replacing an existing name.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a policy name must be a non-empty string, got {name!r}")
    if name in _REGISTRY and not overwrite and _REGISTRY[name] is not cls:
        raise ValueError(f"policy {name!r} is already registered (pass overwrite=True)")
    if not isinstance(cls, str) and not (isinstance(cls, type) and issubclass(cls, SearchPolicy)):
        raise TypeError(f"policy {name!r}: expected a SearchPolicy subclass, got {cls!r}")
    _REGISTRY[name] = cls


def _load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(ep.name, ep.value)


def available_policies() -> list[str]:
    """Names ``make_policy`` accepts (built-in, registered and from entry points)."""
    _load_entry_points()
    return sorted(_REGISTRY)


def _resolve(name: str, target: str | type[SearchPolicy]) -> type[SearchPolicy]:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ImportError(f"policy {name!r}: cannot import {target!r}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, SearchPolicy)):
        raise TypeError(f"policy {name!r}: {target!r} is not a SearchPolicy subclass")
    return cls


def make_policy(name: str, **kwargs: object) -> SearchPolicy:
    """Build the policy registered as ``name`` with its keyword hyperparameters.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in _REGISTRY:
        _load_entry_points()
    if name not in _REGISTRY:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(available_policies())}")
    cls = _resolve(name, _REGISTRY[name])
    _REGISTRY[name] = cls
    return cls(**kwargs)


def make_policy_for(
    name: str,
    space: SearchSpace,
    kwargs: dict[str, object] | None = None,
    *,
    transfer: bool = False,
    enumerable: int = ENUMERABLE,
) -> SearchPolicy:
    """:func:`make_policy` after resolving ``"auto"`` on ``space``; ``"auto"`` without
    ``kwargs`` gets :func:`metarl.agents.default_policy_kwargs` (UCB, or the predicted mean
    when the learner has ``transfer`` data of other datasets)."""
    if kwargs is None:
        kwargs = default_policy_kwargs(name, transfer)
    return make_policy(resolve_policy_name(name, space, enumerable), **kwargs)
