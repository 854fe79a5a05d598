"""Transition alias: the trainer concept lives in :mod:`metarl.trainers`, result reading in
:mod:`metarl.study._tell`. Import from there; this module goes once no caller is left."""

from metarl.study._tell import objective_value, storable
from metarl.trainers import Trainer, TrainerError, TrainerSpec, call_trainer

__all__ = ["Trainer", "TrainerError", "TrainerSpec", "call_trainer", "objective_value", "storable"]
