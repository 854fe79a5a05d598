"""Learners by name: built-ins, ``register_learner`` and the ``metarl.learners`` entry points
(rules: :mod:`metarl._registry`)."""

from __future__ import annotations

from typing import Any

from metarl._registry import Registry
from metarl.learners._base import MetaLearner

ENTRY_POINT_GROUP = "metarl.learners"

_REGISTRY: Registry[type[MetaLearner]] = Registry(
    "learner",
    ENTRY_POINT_GROUP,
    MetaLearner,
    {
        "linear": "metarl.learners._linear:LinearLearner",
        "forest": "metarl.learners._forest:ForestLearner",
        "mlp_ensemble": "metarl.learners._mlp:MLPEnsembleLearner",
        "gp": "metarl.learners._gp:GPLearner",
        "ensemble": "metarl.learners._auto:EnsembleLearner",
        "auto": "metarl.learners._auto:AutoLearner",
        "rgpe": "metarl.learners._transfer:RGPE",
    },
)


def register_learner(name: str, cls: type[MetaLearner] | str, *, overwrite: bool = False) -> None:
    """Make ``make_learner(name)`` build ``cls`` (a class or a lazy ``"module:Class"``).

    Raises:
        ValueError: ``name`` is taken (unless ``overwrite``).
        TypeError: ``cls`` is not a :class:`MetaLearner` subclass.
    """
    _REGISTRY.register(name, cls, overwrite=overwrite)


def available_learners() -> list[str]:
    """Every name ``make_learner`` accepts (registered and installed entry points)."""
    return _REGISTRY.available()


def get_learner_class(name: str) -> type[MetaLearner]:
    """The class registered under ``name`` (see :func:`available_learners`).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        ImportError: the class cannot be imported.
    """
    return _REGISTRY.get(name)


def make_learner(name: str, **kwargs: Any) -> MetaLearner:
    """A new, unfitted learner by name, e.g. ``make_learner("gp", random_state=0)``.

    Raises:
        ValueError: an unknown name or keyword (the message lists the valid ones).
        ImportError: the learner's module cannot be imported.
    """
    return _REGISTRY.make(name, **kwargs)
