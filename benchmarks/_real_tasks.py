"""Real-training tasks with large conditional spaces, for ``bench_real_training.py``.

Each task is a metarl :class:`~metarl.SearchSpace` (feature Subset or per-layer architecture
choices x model family or optimiser x conditional hyperparameters) and a trainer that really
trains on data bundled with scikit-learn (nothing is downloaded):

- ``digits``: metarl's own ``SklearnTrainer`` on digits, exactly as ``metarl run`` uses it: a
  64-column feature Subset x {logreg, svm, hgb, knn} x each model's hyperparameters (~2**73),
  3-fold CV accuracy.
- ``features``: a ``make_classification`` table, 40 columns of which x00-x05 are
  informative (x06-x09 redundant), 40-column Subset x {logreg, svm, knn, hgb} x conditional
  hyperparameters (~2**49), 3-fold CV accuracy (``_spaces.features_space``).
- ``mlp``: a torch MLP on digits, 1-6 layers each with its own width, activation and dropout
  (active only when the layer exists) x optimizer, lr, batch size, weight decay (~2**51),
  ``MLP_EPOCHS`` epochs, held-out accuracy (``_spaces.mlp_space``).
- ``breast_cancer``: ``SklearnTrainer`` on breast_cancer (30-column Subset, ~2**39); cheap.
- ``columns``: breast_cancer with a treatment per column (drop, keep scaled, quantile) x
  {logreg, knn, hgb} x conditional hyperparameters (~2**54), 3-fold CV balanced accuracy
  (``_spaces.columns_space``, the held-out space of the acquisition-optimizer benchmark).
- ``wine`` and ``diabetes`` (``_heldout_tasks.py``): a treatment per column x model family
  x hyperparameters (~2**40 each), CV accuracy / CV R^2; added to check a default chosen on
  the five above.
- ``friedman`` and ``multiclass`` (``_heldout_tasks.py``): make_friedman1 with a treatment
  per column (drop, standard, spline) x regressor (~2**51), and a make_classification
  feature Subset x scaler x PCA x {logreg, forest, svm, MLP} (~2**44); added to check a
  default chosen on the seven above.

The spaces of ``features`` and ``mlp`` are those of the acquisition-optimizer benchmark
(``_spaces.py``), here trained for real at every trial. A trainer built with a seed draws a
fresh training seed per call (fold split, initialisation), so repeated calls are noisy as real
training is, and a (task, seed) replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from _heldout_tasks import (
    diabetes_space,
    friedman_space,
    multiclass_space,
    train_diabetes,
    train_friedman,
    train_multiclass,
    train_wine,
    wine_space,
)
from _spaces import (
    columns_space,
    features_space,
    mlp_space,
    train_columns,
    train_features,
    train_mlp,
)

from metarl.space import SearchSpace
from metarl.type_aliases import Config

#: epochs of the ``mlp`` task (few: each trial must stay well under a second on one core)
MLP_EPOCHS = 3

Trainer = Callable[[Config], float]


@dataclass(frozen=True)
class RealTask:
    """A space and a factory of seeded trainers (config -> value, maximised)."""

    name: str
    space: SearchSpace
    make_trainer: Callable[[int], Trainer]
    note: str


def _sklearn_task(dataset: str) -> RealTask:
    from metarl.trainers import make_trainer

    def make(seed: int) -> Trainer:
        trainer = make_trainer("sklearn", dataset=dataset, seed=seed)
        return lambda config: trainer(config)["val_acc"]

    space = make_trainer("sklearn", dataset=dataset, seed=0).space
    return RealTask(dataset, space, make, f"metarl SklearnTrainer on {dataset}, 3-fold CV acc")


def _seeded(train: Callable[[Config, int], float]) -> Callable[[int], Trainer]:
    """A factory of trainers that call ``train(config, s)`` with a fresh ``s`` each time."""

    def make(seed: int) -> Trainer:
        rng = np.random.default_rng(seed)
        return lambda config: train(config, int(rng.integers(2**31 - 1)))

    return make


def _features_task() -> RealTask:
    return RealTask(
        "features",
        features_space(),
        _seeded(train_features),
        "make_classification 40 columns (6 informative), 3-fold CV acc",
    )


def _columns_task() -> RealTask:
    return RealTask(
        "columns",
        columns_space(),
        _seeded(train_columns),
        "breast_cancer, a treatment per column x model family, 3-fold CV balanced acc",
    )


def _mlp_task() -> RealTask:
    return RealTask(
        "mlp",
        mlp_space(),
        _seeded(lambda config, seed: train_mlp(config, seed, epochs=MLP_EPOCHS)),
        f"torch MLP on digits, per-layer choices, {MLP_EPOCHS} epochs, held-out acc",
    )


def _wine_task() -> RealTask:
    return RealTask(
        "wine",
        wine_space(),
        _seeded(train_wine),
        "wine, a treatment per column x {logreg, svm, knn, trees}, 3-fold CV acc",
    )


def _diabetes_task() -> RealTask:
    return RealTask(
        "diabetes",
        diabetes_space(),
        _seeded(train_diabetes),
        "diabetes, a treatment per column x target transform x regressor, 3-fold CV R^2",
    )


def _friedman_task() -> RealTask:
    return RealTask(
        "friedman",
        friedman_space(),
        _seeded(train_friedman),
        "make_friedman1 24 columns, a treatment per column x regressor, 3-fold CV R^2",
    )


def _multiclass_task() -> RealTask:
    return RealTask(
        "multiclass",
        multiclass_space(),
        _seeded(train_multiclass),
        "make_classification 4 classes, Subset x scaler x PCA x model, 3-fold CV acc",
    )


TASKS: dict[str, Callable[[], RealTask]] = {
    "digits": lambda: _sklearn_task("digits"),
    "features": _features_task,
    "mlp": _mlp_task,
    "breast_cancer": lambda: _sklearn_task("breast_cancer"),
    "columns": _columns_task,
    "wine": _wine_task,  # added after the five above had been tuned on (_heldout_tasks)
    "diabetes": _diabetes_task,
    "friedman": _friedman_task,  # added after the seven above (_heldout_tasks)
    "multiclass": _multiclass_task,
}


def make_task(name: str) -> RealTask:
    """The task called ``name`` (one of :data:`TASKS`)."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid: {', '.join(TASKS)}")
    return TASKS[name]()
