"""The refinement loop on Optuna storage: Study, executors, workers, heartbeat and requeue."""

from metarl.study._executors import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    ThreadExecutor,
    make_executor,
)
from metarl.study._storage import StorageError, open_storage, pop_waiting, requeue_stale
from metarl.study._study import Study, load_study_settings
from metarl.study._trainer import TrainerError, TrainerSpec, call_trainer
from metarl.study._worker import run_worker

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "StorageError",
    "Study",
    "ThreadExecutor",
    "TrainerError",
    "TrainerSpec",
    "call_trainer",
    "load_study_settings",
    "make_executor",
    "open_storage",
    "pop_waiting",
    "requeue_stale",
    "run_worker",
]
