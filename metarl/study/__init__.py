"""The refinement loop on an Optuna storage: :class:`Study`, its executors and workers.

A study's rounds are :func:`metarl.loop.refine`; this package stores them (the format is
:mod:`metarl.study._schema`), evaluates proposals in parallel (process pool, threads, Dask or
``metarl worker`` processes on other machines), and recovers from dead workers.
"""

from metarl.study._dask import DaskExecutor
from metarl.study._executors import (
    Executor,
    ProcessExecutor,
    ThreadExecutor,
    make_executor,
)
from metarl.study._settings import load_study_settings
from metarl.study._storage import StorageError, open_storage
from metarl.study._study import Callback, Study
from metarl.study._trials import TooManyFailuresError
from metarl.study._worker import run_worker
from metarl.trainers import TrainerError, TrainerSpec  # their home is metarl.trainers

__all__ = [
    "Callback",
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "StorageError",
    "Study",
    "ThreadExecutor",
    "TooManyFailuresError",
    "TrainerError",
    "TrainerSpec",
    "load_study_settings",
    "make_executor",
    "open_storage",
    "run_worker",
]
