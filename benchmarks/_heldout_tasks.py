"""Two real-training tasks added after every earlier variant was tuned (issue 11, point 3):
nobody chose a default on them, so they check a default chosen on the other five.

- ``wine``: sklearn's wine (178 rows, 13 columns, 3 classes), a treatment per column (drop,
  standard-scaled, robust-scaled, quantile, Yeo-Johnson power) x {logreg, svm, knn, extra
  trees} x each model's hyperparameters (~2**40), 3-fold stratified CV accuracy.
- ``diabetes``: sklearn's diabetes regression (442 rows, 10 columns), a treatment per column
  (the five above and ``square``: standard-scaled with its square appended) x a target
  transform (none, quantile-normal, Yeo-Johnson) x {ridge, svr, hgb, knn} x hyperparameters
  (~2**40), 3-fold CV R^2 (maximised; a model worse than the mean predicts below 0).

Each call draws its fold split (and the trees' seed) from the ``seed`` it gets, so repeated
calls are noisy as real training is; no column kept gives the chance value (accuracy of the
majority class, R^2 = 0).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from metarl.space import Categorical, Float, Integer, SearchSpace
from metarl.type_aliases import Config

TREATMENTS = ("drop", "standard", "robust", "quantile", "power")
WINE_COLUMNS = 13
DIABETES_COLUMNS = 10


def _only(param: str, value: str) -> dict[str, list[str]]:
    return {param: [value]}


def wine_space() -> SearchSpace:
    """A treatment per wine column x model family x hyperparameters (~2**40)."""
    m = "model"
    params: dict[str, Any] = {f"c{j:02d}": Categorical(list(TREATMENTS)) for j in range(13)}
    params |= {
        m: Categorical(["logreg", "svm", "knn", "trees"]),
        "logreg_C": Float(1e-3, 1e3, log=True, bins=16, active_if=_only(m, "logreg")),
        "logreg_class_weight": Categorical(["none", "balanced"], active_if=_only(m, "logreg")),
        "svm_C": Float(1e-2, 1e3, log=True, bins=16, active_if=_only(m, "svm")),
        "svm_gamma": Float(1e-4, 1.0, log=True, bins=16, active_if=_only(m, "svm")),
        "svm_kernel": Categorical(["rbf", "poly", "sigmoid"], active_if=_only(m, "svm")),
        "knn_n_neighbors": Integer(1, 40, log=True, bins=16, active_if=_only(m, "knn")),
        "knn_weights": Categorical(["uniform", "distance"], active_if=_only(m, "knn")),
        "knn_p": Integer(1, 2, active_if=_only(m, "knn")),
        "trees_max_features": Float(0.1, 1.0, bins=8, active_if=_only(m, "trees")),
        "trees_min_samples_leaf": Integer(1, 20, log=True, bins=8, active_if=_only(m, "trees")),
        "trees_criterion": Categorical(["gini", "entropy"], active_if=_only(m, "trees")),
    }
    return SearchSpace(params)


def diabetes_space() -> SearchSpace:
    """A treatment per diabetes column x target transform x regressor x hyperparameters."""
    m = "model"
    treatments = [*TREATMENTS, "square"]
    params: dict[str, Any] = {f"c{j:02d}": Categorical(treatments) for j in range(DIABETES_COLUMNS)}
    params |= {
        "target": Categorical(["none", "quantile", "power"]),
        m: Categorical(["ridge", "svr", "hgb", "knn"]),
        "ridge_alpha": Float(1e-3, 1e3, log=True, bins=16, active_if=_only(m, "ridge")),
        "svr_C": Float(1e-2, 1e3, log=True, bins=16, active_if=_only(m, "svr")),
        "svr_gamma": Float(1e-4, 1.0, log=True, bins=16, active_if=_only(m, "svr")),
        "svr_epsilon": Float(0.01, 1.0, log=True, bins=8, active_if=_only(m, "svr")),
        "hgb_learning_rate": Float(0.01, 1.0, log=True, bins=8, active_if=_only(m, "hgb")),
        "hgb_max_leaf_nodes": Integer(4, 64, log=True, bins=8, active_if=_only(m, "hgb")),
        "hgb_l2": Float(1e-3, 10.0, log=True, bins=8, active_if=_only(m, "hgb")),
        "hgb_min_samples_leaf": Integer(2, 64, log=True, bins=8, active_if=_only(m, "hgb")),
        "knn_n_neighbors": Integer(1, 60, log=True, bins=16, active_if=_only(m, "knn")),
        "knn_weights": Categorical(["uniform", "distance"], active_if=_only(m, "knn")),
        "knn_p": Integer(1, 2, active_if=_only(m, "knn")),
    }
    return SearchSpace(params)


def _prep(config: Config, n_columns: int) -> Any | None:
    """The per-column preprocessing of ``config`` (None: no column kept)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        PowerTransformer,
        QuantileTransformer,
        RobustScaler,
        StandardScaler,
    )

    make = {
        "standard": StandardScaler,
        "robust": RobustScaler,
        "quantile": lambda: QuantileTransformer(n_quantiles=100),
        "power": PowerTransformer,
        "square": lambda: make_pipeline(
            StandardScaler(), FunctionTransformer(lambda X: np.hstack([X, X * X]))
        ),
    }
    parts = []
    for name, build in make.items():
        cols = [j for j in range(n_columns) if config[f"c{j:02d}"] == name]
        if cols:
            parts.append((name, build(), cols))
    return ColumnTransformer(parts, remainder="drop") if parts else None


def _wine_model(config: Config, seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    model = config["model"]
    if model == "logreg":
        weight = None if config["logreg_class_weight"] == "none" else "balanced"
        return LogisticRegression(C=config["logreg_C"], class_weight=weight, max_iter=300)
    if model == "svm":
        return SVC(C=config["svm_C"], gamma=config["svm_gamma"], kernel=config["svm_kernel"])
    if model == "knn":
        return KNeighborsClassifier(
            config["knn_n_neighbors"], weights=config["knn_weights"], p=config["knn_p"]
        )
    return ExtraTreesClassifier(
        n_estimators=30,
        max_features=config["trees_max_features"],
        min_samples_leaf=config["trees_min_samples_leaf"],
        criterion=config["trees_criterion"],
        random_state=seed,
    )


def _diabetes_model(config: Config, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.svm import SVR

    model = config["model"]
    if model == "ridge":
        return Ridge(alpha=config["ridge_alpha"])
    if model == "svr":
        return SVR(C=config["svr_C"], gamma=config["svr_gamma"], epsilon=config["svr_epsilon"])
    if model == "knn":
        return KNeighborsRegressor(
            config["knn_n_neighbors"], weights=config["knn_weights"], p=config["knn_p"]
        )
    return HistGradientBoostingRegressor(
        learning_rate=config["hgb_learning_rate"],
        max_leaf_nodes=config["hgb_max_leaf_nodes"],
        l2_regularization=config["hgb_l2"],
        min_samples_leaf=config["hgb_min_samples_leaf"],
        max_iter=50,
        early_stopping=False,
        random_state=seed,
    )


def train_wine(config: Config, seed: int) -> float:
    """3-fold stratified CV accuracy of ``config`` on wine."""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    X, y = load_wine(return_X_y=True)
    prep = _prep(config, WINE_COLUMNS)
    if prep is None:
        return float(np.bincount(y).max() / len(y))
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        pipe = make_pipeline(prep, _wine_model(config, seed))
        return float(cross_val_score(pipe, X, y, cv=folds).mean())


def train_diabetes(config: Config, seed: int) -> float:
    """3-fold CV R^2 of ``config`` on diabetes (maximised)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PowerTransformer, QuantileTransformer
    from threadpoolctl import threadpool_limits

    X, y = load_diabetes(return_X_y=True)
    prep = _prep(config, DIABETES_COLUMNS)
    if prep is None:
        return 0.0
    est = make_pipeline(prep, _diabetes_model(config, seed))
    if config["target"] != "none":
        target = (
            QuantileTransformer(n_quantiles=100, output_distribution="normal")
            if config["target"] == "quantile"
            else PowerTransformer()
        )
        est = TransformedTargetRegressor(est, transformer=target)
    folds = KFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        return float(cross_val_score(est, X, y, cv=folds, scoring="r2").mean())
