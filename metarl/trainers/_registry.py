"""Trainers by name: built-ins, tabular tasks, ``register_trainer`` and the
``metarl.trainers`` entry points (rules: :mod:`metarl._registry`).

The benchmark suite is imported only when a name is not a registered trainer (it may then
be a tabular task), so that naming a trainer never loads the benchmark tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from metarl._registry import Registry
from metarl.trainers._base import Trainer

#: Entry-point group through which outside packages add trainers (``name = "module:factory"``).
ENTRY_POINT_GROUP = "metarl.trainers"

_REGISTRY: Registry[Callable[..., Trainer]] = Registry(
    "trainer",
    ENTRY_POINT_GROUP,
    None,  # any callable returning a trainer: a class or a factory function
    {
        "sklearn": "metarl.trainers._sklearn:SklearnTrainer",
        "torch_mlp": "metarl.trainers._torch_mlp:TorchMLPTrainer",
        "tabular": "metarl.benchmarks:load_task",
    },
)


def _tasks() -> list[str]:
    from metarl.benchmarks import list_tasks

    return list_tasks()


def register_trainer(
    name: str, factory: Callable[..., Trainer] | str, *, overwrite: bool = False
) -> None:
    """Register a trainer factory under ``name`` (a callable, or a lazy ``"module:attr"``).

    Raises:
        ValueError: ``name`` is empty, taken (unless ``overwrite``) or a tabular task name.
        TypeError: ``factory`` is neither callable nor a string.
    """
    # task names are "family/dataset": only such a name can collide, and only it loads them
    if isinstance(name, str) and "/" in name and name in _tasks():
        raise ValueError(f"trainer {name!r} is already registered (a tabular task)")
    _REGISTRY.register(name, factory, overwrite=overwrite)


def available_trainers() -> list[str]:
    """Every trainer name :func:`make_trainer` accepts (tabular task names included)."""
    return _REGISTRY.available() + _tasks()


#: The former name of :func:`available_trainers`, kept for existing code.
list_trainers = available_trainers


def make_trainer(name: str, **kwargs: Any) -> Trainer:
    """Build a trainer by name.

    Names: ``"sklearn"`` (:class:`SklearnTrainer`), ``"torch_mlp"``
    (:class:`TorchMLPTrainer`), every tabular task name (``"hpolib/protein_structure"``,
    see :func:`metarl.benchmarks.list_tasks`; kwargs go to ``load_task``, e.g. ``seed``),
    ``"tabular"`` with ``task=...`` (the same, for configs that prefer a parameter), and
    whatever :func:`register_trainer` or the ``metarl.trainers`` entry-point group added.

    Raises:
        ValueError: an unknown name or keyword (the message lists the valid ones).
        ImportError: the trainer's module cannot be imported.
    """
    if name == "tabular":
        if "task" not in kwargs:
            raise ValueError("trainer 'tabular' needs task=..., e.g. 'hpolib/protein_structure'")
        task = kwargs.pop("task")
        return _REGISTRY.get("tabular")(task, **kwargs)
    if name in _REGISTRY:
        return _REGISTRY.make(name, **kwargs)
    from metarl.benchmarks import list_tasks, load_task

    if name in list_tasks():
        return load_task(name, **kwargs)
    raise ValueError(
        f"unknown trainer {name!r}; available: {', '.join(_REGISTRY.available())}, "
        f"or a tabular task such as 'hpolib/protein_structure' (see available_trainers())"
    )
