"""Trainers: callables ``config -> dict of metrics`` that really train (or look up) a config.

Any callable works in Python (:class:`Trainer`); a :class:`TrainerSpec` names one so that
other processes can rebuild it. Named trainers are built with :func:`make_trainer` (so YAML
configs can name them): ``"sklearn"``, ``"torch_mlp"``, every tabular task name
(``"hpolib/protein_structure"``, ...) or ``"tabular"`` with ``task=...``, plus what
:func:`register_trainer` or the ``metarl.trainers`` entry-point group add.
"""

from metarl.trainers._base import CONTINUED_FROM, Trainer, TrainerError, call_trainer
from metarl.trainers._registry import (
    ENTRY_POINT_GROUP,
    available_trainers,
    list_trainers,
    make_trainer,
    register_trainer,
)
from metarl.trainers._spec import TrainerSpec


def __getattr__(name: str) -> object:
    # imported lazily: scikit-learn and torch are slow to import, and every evaluation
    # process imports this package to call its trainer
    if name == "SklearnTrainer":
        from metarl.trainers._sklearn import SklearnTrainer

        return SklearnTrainer
    if name == "TorchMLPTrainer":
        from metarl.trainers._torch_mlp import TorchMLPTrainer

        return TorchMLPTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONTINUED_FROM",
    "ENTRY_POINT_GROUP",
    "SklearnTrainer",
    "TorchMLPTrainer",
    "Trainer",
    "TrainerError",
    "TrainerSpec",
    "available_trainers",
    "call_trainer",
    "list_trainers",
    "make_trainer",
    "register_trainer",
]
