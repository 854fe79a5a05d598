"""Trainers: callables ``config -> dict of metrics`` that really train (or look up) a config.

Any callable works in Python; named trainers are built with :func:`make_trainer` (so YAML
configs can name them): ``"sklearn"``, ``"torch_mlp"``, every tabular task name
(``"hpolib/protein_structure"``, ...) or ``"tabular"`` with ``task=...``, plus what
:func:`register_trainer` or the ``metarl.trainers`` entry-point group add.
"""

from metarl.trainers._base import Trainer
from metarl.trainers._registry import (
    ENTRY_POINT_GROUP,
    available_trainers,
    list_trainers,
    make_trainer,
    register_trainer,
)
from metarl.trainers._sklearn import SklearnTrainer


def __getattr__(name: str) -> object:
    if name == "TorchMLPTrainer":  # imported lazily: torch is heavy to import
        from metarl.trainers._torch_mlp import TorchMLPTrainer

        return TorchMLPTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENTRY_POINT_GROUP",
    "SklearnTrainer",
    "TorchMLPTrainer",
    "Trainer",
    "available_trainers",
    "list_trainers",
    "make_trainer",
    "register_trainer",
]
