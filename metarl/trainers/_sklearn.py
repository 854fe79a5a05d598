"""A trainer that really trains scikit-learn models on scikit-learn's bundled datasets."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from threadpoolctl import threadpool_limits

from metarl.space import Categorical, Fidelity, Float, Integer, SearchSpace, Subset
from metarl.trainers._base import validated
from metarl.type_aliases import Config, Direction

#: dataset -> (loader in sklearn.datasets, task kind)
DATASETS: dict[str, tuple[str, str]] = {
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
}


def _model_params(kind: str) -> dict[str, Any]:
    """``model`` and each model's hyperparameters, active only for that model."""
    linear, kernel = ("logreg", "svm") if kind == "classification" else ("ridge", "svr")

    def only(model: str) -> dict[str, list[str]]:
        return {"model": [model]}

    params: dict[str, Any] = {"model": Categorical([linear, kernel, "hgb", "knn"])}
    if kind == "classification":
        params["logreg_C"] = Float(1e-3, 1e3, log=True, bins=10, active_if=only(linear))
    else:
        params["ridge_alpha"] = Float(1e-4, 1e3, log=True, bins=10, active_if=only(linear))
    params[f"{kernel}_C"] = Float(1e-2, 1e3, log=True, bins=10, active_if=only(kernel))
    params[f"{kernel}_gamma"] = Float(1e-4, 1.0, log=True, bins=10, active_if=only(kernel))
    if kind == "regression":
        params["svr_epsilon"] = Float(1e-3, 1.0, log=True, bins=8, active_if=only(kernel))
    params |= {
        "hgb_learning_rate": Float(0.01, 1.0, log=True, bins=8, active_if=only("hgb")),
        "hgb_max_leaf_nodes": Integer(4, 64, log=True, bins=8, active_if=only("hgb")),
        "hgb_max_iter": Integer(10, 200, log=True, bins=8, active_if=only("hgb")),
        "knn_n_neighbors": Integer(1, 50, log=True, bins=10, active_if=only("knn")),
        "knn_weights": Categorical(["uniform", "distance"], active_if=only("knn")),
    }
    return params


class SklearnTrainer:
    """Feature selection, model choice and hyperparameters of scikit-learn models, scored by
    k-fold cross-validation on one of scikit-learn's bundled datasets. It really trains.

    Space: ``features`` (a Subset of the dataset's columns), ``model`` (classification:
    logreg, svm, hgb (HistGradientBoosting), knn; regression (diabetes): ridge, svr, hgb, knn)
    and each model's hyperparameters, active only for that model (``logreg_C``, ``svm_C``,
    ``svm_gamma``, ``ridge_alpha``, ``svr_*``, ``hgb_*``, ``knn_*``). Linear, kernel and k-NN
    models see standardised features (and, for regression, a standardised target).
    Context meta-features: ``dataset``, ``n_samples``, ``n_features``. With
    ``min_subsample``, the space also has the fidelity ``subsample``
    (``Fidelity(min_subsample, 1.0, log=True)``): each fold's model is trained on that
    fraction of the fold's training rows (drawn per call, stratified by class for
    classification), and scored on the whole held-out fold.

    A call returns ``val_acc`` (mean CV accuracy; ``val_r2`` for regression), its
    ``*_std`` over folds, ``train_time`` (wall seconds of the whole CV) and
    ``n_features_used``. Each call draws a fresh seed from :attr:`rng` for the fold split and
    the model's randomness, so repeated calls are noisy as real training is. Convergence
    warnings of a config (e.g. logreg with a huge C) are silenced: they are part of what the
    config scores.

    Args:
        dataset: one of :data:`DATASETS` (breast_cancer, diabetes, digits, iris, wine).
        cv: number of folds.
        seed: seeds :attr:`rng`.
        n_threads: native threads (OpenMP, BLAS) a call may use; None leaves the libraries'
            defaults. 1 by default: these models are small, and on a shared machine a
            multithreaded fit can be tens of times slower than a single-threaded one.
        min_subsample: the lowest training-subsample fraction, in (0, 1); None (default):
            no fidelity, every fit uses the whole training folds.
    """

    def __init__(
        self,
        dataset: str = "breast_cancer",
        cv: int = 3,
        seed: int | None = None,
        n_threads: int | None = 1,
        min_subsample: float | None = None,
    ) -> None:
        if dataset not in DATASETS:
            raise ValueError(f"unknown sklearn dataset {dataset!r}; valid: {sorted(DATASETS)}")
        if not isinstance(cv, int) or cv < 2:
            raise ValueError(f"cv must be an int >= 2, got {cv!r}")
        if n_threads is not None and (not isinstance(n_threads, int) or n_threads < 1):
            raise ValueError(f"n_threads must be None or an int >= 1, got {n_threads!r}")
        if min_subsample is not None and not (
            isinstance(min_subsample, (int, float)) and 0.0 < min_subsample < 1.0
        ):
            raise ValueError(f"min_subsample must be None or in (0, 1), got {min_subsample!r}")
        self.n_threads = n_threads
        self.min_subsample = min_subsample
        loader, self.kind = DATASETS[dataset]
        data = getattr(datasets, loader)()
        self.dataset = dataset
        self.cv = cv
        self.X: np.ndarray = np.asarray(data.data, dtype=np.float64)
        self.y: np.ndarray = np.asarray(data.target)
        self.feature_names: list[str] = [str(f) for f in data.feature_names]
        self.metric = "val_acc" if self.kind == "classification" else "val_r2"
        self.direction: Direction = "maximize"
        params = {"features": Subset(self.feature_names), **_model_params(self.kind)}
        if min_subsample is not None:
            params["subsample"] = Fidelity(float(min_subsample), 1.0, log=True)
        context = {
            "dataset": Categorical(sorted(DATASETS)),
            "n_samples": Integer(1, 10**7, log=True),
            "n_features": Integer(1, 10**5, log=True),
        }
        self.space = SearchSpace(
            params,
            context,
            {"dataset": dataset, "n_samples": self.X.shape[0], "n_features": self.X.shape[1]},
        )
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int | None = None) -> None:
        """Restart :attr:`rng` from ``seed``."""
        self.rng = np.random.default_rng(seed)

    def build_model(self, config: Config, random_state: int = 0) -> Any:
        """The unfitted scikit-learn estimator of a (validated) config."""
        model = config["model"]
        if model == "logreg":
            est = make_pipeline(StandardScaler(), LogisticRegression(C=config["logreg_C"]))
        elif model == "svm":
            est = make_pipeline(StandardScaler(), SVC(C=config["svm_C"], gamma=config["svm_gamma"]))
        elif model == "ridge":
            est = make_pipeline(StandardScaler(), Ridge(alpha=config["ridge_alpha"]))
        elif model == "svr":
            est = make_pipeline(
                StandardScaler(),
                SVR(C=config["svr_C"], gamma=config["svr_gamma"], epsilon=config["svr_epsilon"]),
            )
        elif model == "knn":
            knn = KNeighborsClassifier if self.kind == "classification" else KNeighborsRegressor
            n_fit = int(self.X.shape[0] * (self.cv - 1) / self.cv * config.get("subsample", 1.0))
            k = max(min(config["knn_n_neighbors"], n_fit), 1)
            est = make_pipeline(StandardScaler(), knn(n_neighbors=k, weights=config["knn_weights"]))
        else:
            hgb = (
                HistGradientBoostingClassifier
                if self.kind == "classification"
                else HistGradientBoostingRegressor
            )
            est = hgb(
                learning_rate=config["hgb_learning_rate"],
                max_leaf_nodes=config["hgb_max_leaf_nodes"],
                max_iter=config["hgb_max_iter"],
                early_stopping=False,
                random_state=random_state,
            )
        if self.kind == "regression" and model != "hgb":
            est = TransformedTargetRegressor(regressor=est, transformer=StandardScaler())
        return est

    def __call__(self, config: Config) -> dict[str, float]:
        """Cross-validate ``config``; see the class docstring for the metrics returned.

        Raises:
            SpaceError: ``config`` is not a config of :attr:`space`.
        """
        config = validated(self.space, config)
        seed = int(self.rng.integers(2**31 - 1))
        cols = [self.feature_names.index(f) for f in config["features"]]
        split = StratifiedKFold if self.kind == "classification" else KFold
        folds = split(n_splits=self.cv, shuffle=True, random_state=seed)
        if self.min_subsample is not None:
            folds = self._subsampled(folds, config.get("subsample", 1.0), seed)
        scoring = "accuracy" if self.kind == "classification" else "r2"
        start = time.perf_counter()
        with warnings.catch_warnings(), threadpool_limits(limits=self.n_threads):
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores = cross_val_score(
                self.build_model(config, seed), self.X[:, cols], self.y, cv=folds, scoring=scoring
            )
        elapsed = time.perf_counter() - start
        return {
            self.metric: float(scores.mean()),
            f"{self.metric}_std": float(scores.std()),
            "train_time": elapsed,
            "n_features_used": float(len(cols)),
        }

    def _subsampled(self, folds: Any, fraction: float, seed: int) -> list[tuple[Any, Any]]:
        """The folds' (train, test) index pairs, each train part cut to ``fraction`` of its
        rows (stratified for classification; at least one row per class)."""
        from sklearn.model_selection import train_test_split

        out = []
        for train, test in folds.split(self.X, self.y):
            n = max(int(round(fraction * len(train))), 1)
            if n < len(train):
                strat = self.y[train] if self.kind == "classification" else None
                n = max(n, len(np.unique(self.y[train]))) if strat is not None else n
                train, _ = train_test_split(train, train_size=n, stratify=strat, random_state=seed)
            out.append((train, test))
        return out

    def __repr__(self) -> str:
        sub = "" if self.min_subsample is None else f", min_subsample={self.min_subsample}"
        return f"SklearnTrainer(dataset={self.dataset!r}, cv={self.cv}{sub})"
