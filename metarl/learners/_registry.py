"""Learners by name: built-ins, ``register_learner`` and the ``metarl.learners`` entry points."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from metarl.learners._base import MetaLearner

ENTRY_POINT_GROUP = "metarl.learners"

# lazy "module:Class" strings, so importing metarl does not import every model's library
_REGISTRY: dict[str, type[MetaLearner] | str] = {
    "linear": "metarl.learners._linear:LinearLearner",
    "forest": "metarl.learners._forest:ForestLearner",
    "mlp_ensemble": "metarl.learners._mlp:MLPEnsembleLearner",
    "gp": "metarl.learners._gp:GPLearner",
    "ensemble": "metarl.learners._auto:EnsembleLearner",
    "auto": "metarl.learners._auto:AutoLearner",
}


def register_learner(name: str, cls: type[MetaLearner] | str, *, overwrite: bool = False) -> None:
    """Make ``make_learner(name)`` build ``cls`` (a class or a lazy ``"module:Class"``).

    Raises:
        ValueError: ``name`` is taken (unless ``overwrite``) or ``cls`` is not a learner.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"learner name must be a non-empty string, got {name!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"learner {name!r} is already registered (pass overwrite=True)")
    if isinstance(cls, str):
        if ":" not in cls:
            raise ValueError(f"learner {name!r}: expected 'module:Class', got {cls!r}")
    elif not (isinstance(cls, type) and issubclass(cls, MetaLearner)):
        raise ValueError(f"learner {name!r}: {cls!r} is not a MetaLearner subclass")
    _REGISTRY[name] = cls


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_learners() -> list[str]:
    """Every name ``make_learner`` accepts (registered and installed entry points)."""
    return sorted(set(_REGISTRY) | set(_entry_points()))


def _resolve(target: type[MetaLearner] | str, name: str) -> type[MetaLearner]:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"learner {name!r}: cannot import {target!r}: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, MetaLearner)):
        raise ValueError(f"learner {name!r}: {target!r} is not a MetaLearner subclass")
    return cls


def get_learner_class(name: str) -> type[MetaLearner]:
    """The class registered under ``name`` (see :func:`available_learners`)."""
    if name in _REGISTRY:
        cls = _resolve(_REGISTRY[name], name)
        _REGISTRY[name] = cls
        return cls
    eps = _entry_points()
    if name in eps:
        cls = eps[name].load()
        register_learner(name, cls)
        return _resolve(cls, name)
    raise ValueError(f"unknown learner {name!r}; valid names: {', '.join(available_learners())}")


def make_learner(name: str, **kwargs: Any) -> MetaLearner:
    """A new, unfitted learner by name, e.g. ``make_learner("gp", random_state=0)``.

    Raises:
        ValueError: an unknown name (the message lists the valid ones) or keyword.
    """
    cls = get_learner_class(name)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"learner {name!r}: {e}") from None
