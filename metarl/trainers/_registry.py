"""Trainers by name: built-ins, tabular tasks, ``register_trainer`` and entry points."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from metarl.trainers._base import Trainer

#: Entry-point group through which outside packages add trainers (``name = "module:factory"``).
ENTRY_POINT_GROUP = "metarl.trainers"

_REGISTRY: dict[str, Callable[..., Trainer] | str] = {
    "sklearn": "metarl.trainers._sklearn:SklearnTrainer",
    "torch_mlp": "metarl.trainers._torch_mlp:TorchMLPTrainer",
    "tabular": "metarl.benchmarks:load_task",
}
_entry_points_loaded = False


def register_trainer(name: str, factory: Callable[..., Trainer] | str) -> None:
    """Register a trainer factory under ``name`` (a callable, or a lazy ``"module:attr"``).

    Raises:
        ValueError: ``name`` is empty, already registered, or the factory is neither.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"trainer name must be a non-empty string, got {name!r}")
    if name in _REGISTRY or _is_task(name):
        raise ValueError(f"trainer {name!r} is already registered")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise ValueError(f"trainer {name!r}: factory must be callable or 'module:attr'")
    _REGISTRY[name] = factory


def _is_task(name: str) -> bool:
    from metarl.benchmarks import list_tasks

    return name in list_tasks()


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _REGISTRY.setdefault(ep.name, ep.value)


def list_trainers() -> list[str]:
    """Every trainer name :func:`make_trainer` accepts (tabular task names included)."""
    from metarl.benchmarks import list_tasks

    _load_entry_points()
    return sorted(_REGISTRY) + list_tasks()


def _resolve(name: str, factory: Callable[..., Trainer] | str) -> Callable[..., Trainer]:
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"trainer {name!r}: cannot load {factory!r}: {e}") from None


def make_trainer(name: str, **kwargs: Any) -> Trainer:
    """Build a trainer by name.

    Names: ``"sklearn"`` (:class:`SklearnTrainer`), ``"torch_mlp"``
    (:class:`TorchMLPTrainer`), every tabular task name (``"hpolib/protein_structure"``,
    see :func:`metarl.benchmarks.list_tasks`; kwargs go to ``load_task``, e.g. ``seed``),
    ``"tabular"`` with ``task=...`` (the same, for configs that prefer a parameter), and
    whatever :func:`register_trainer` or the ``metarl.trainers`` entry-point group added.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    if _is_task(name):
        from metarl.benchmarks import load_task

        return load_task(name, **kwargs)
    _load_entry_points()
    if name not in _REGISTRY:
        raise ValueError(f"unknown trainer {name!r}; valid: {list_trainers()}")
    factory = _resolve(name, _REGISTRY[name])
    if name == "tabular":
        if "task" not in kwargs:
            raise ValueError("trainer 'tabular' needs task=..., e.g. 'hpolib/protein_structure'")
        return factory(kwargs.pop("task"), **kwargs)
    return factory(**kwargs)
