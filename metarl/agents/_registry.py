"""Policies by name: the built-in ones, those added with :func:`register_policy`, and those
published by other packages in the ``metarl.policies`` entry-point group (rules:
:mod:`metarl._registry`)."""

from __future__ import annotations

from metarl._registry import Registry
from metarl.agents._base import SearchPolicy

ENTRY_POINT_GROUP = "metarl.policies"

# Lazy "module:Class" strings, so that importing metarl does not import SB3 or Optuna.
_REGISTRY: Registry[type[SearchPolicy]] = Registry(
    "policy",
    ENTRY_POINT_GROUP,
    SearchPolicy,
    {
        "random": "metarl.agents._sampling:RandomPolicy",
        "surrogate_sampling": "metarl.agents._sampling:SurrogateSampling",
        "exhaustive": "metarl.agents._sampling:Exhaustive",
        "evolution": "metarl.agents._evolution:RegularizedEvolution",
        "local_search": "metarl.agents._local:LocalSearch",
        "tpe": "metarl.agents._optuna:TPEPolicy",
        "gp": "metarl.agents._optuna:GPPolicy",
        "ppo": "metarl.agents._ppo:PPOPolicy",
    },
)


def register_policy(name: str, cls: type[SearchPolicy] | str, *, overwrite: bool = False) -> None:
    """Make ``make_policy(name)`` build ``cls``.

    Args:
        name: the policy's id (as YAML configs and ``metarl compare`` name it).
        cls: a :class:`SearchPolicy` subclass, or a lazy ``"module:Class"`` string.
        overwrite: allow replacing an existing name.

    Raises:
        ValueError: ``name`` is taken by another class (unless ``overwrite``).
        TypeError: ``cls`` is not a :class:`SearchPolicy` subclass.
    """
    _REGISTRY.register(name, cls, overwrite=overwrite)


def available_policies() -> list[str]:
    """Names ``make_policy`` accepts (built-in, registered and from entry points)."""
    return _REGISTRY.available()


def get_policy_class(name: str) -> type[SearchPolicy]:
    """The class registered under ``name`` (see :func:`available_policies`).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        ImportError: the class cannot be imported.
    """
    return _REGISTRY.get(name)


def make_policy(name: str, **kwargs: object) -> SearchPolicy:
    """Build the policy registered as ``name`` with its keyword hyperparameters.

    Raises:
        ValueError: an unknown name or keyword (the message lists the valid ones).
        ImportError: the policy's module cannot be imported.
    """
    return _REGISTRY.make(name, **kwargs)
