"""Past meta-data: runs of configs already trained, as training data for a meta-learner.

"Do we need to train a model to know how good it would be?" Past runs answer it: load them
from a CSV file, a pandas DataFrame or an existing Optuna study with :func:`load_runs`, or
fit and cross-validate a meta-learner on them in one call with :func:`fit_learner`::

    space = SearchSpace.from_yaml("space.yaml")
    learner, quality = fit_learner("runs.csv", space, "val_loss", learner="forest")
    print(quality["spearman"], quality["top10_recall"])

The ``metarl learner fit`` and ``metarl propose`` commands are built on these.
"""

from metarl.metadata._fit import MIN_RUNS, fit_learner
from metarl.metadata._runs import RunData, RunDataError, load_runs

__all__ = ["MIN_RUNS", "RunData", "RunDataError", "fit_learner", "load_runs"]
