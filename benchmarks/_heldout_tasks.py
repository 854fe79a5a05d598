"""Two real-training tasks added after every earlier variant was tuned (issue 11, point 3):
nobody chose a default on them, so they check a default chosen on the other five.

- ``wine``: sklearn's wine (178 rows, 13 columns, 3 classes), a treatment per column (drop,
  standard-scaled, robust-scaled, quantile, Yeo-Johnson power) x {logreg, svm, knn, extra
  trees} x each model's hyperparameters (~2**40), 3-fold stratified CV accuracy.
- ``diabetes``: sklearn's diabetes regression (442 rows, 10 columns), a treatment per column
  (the five above and ``square``: standard-scaled with its square appended) x a target
  transform (none, quantile-normal, Yeo-Johnson) x {ridge, svr, hgb, knn} x hyperparameters
  (~2**40), 3-fold CV R^2 (maximised; a model worse than the mean predicts below 0).
- ``friedman`` and ``multiclass`` (added after the seven earlier tasks had been tuned on,
  declared before any sampler ran on them): ``make_friedman1`` (300 rows, 24 columns, 5 of
  them in the target, noise 1) with a treatment per column (drop, standard, cubic spline)
  x {ridge, svr, hgb, knn} x hyperparameters (~2**51), 3-fold CV R^2; and a
  ``make_classification`` table (500 rows, 30 columns, 6 informative, 4 classes, 5% labels
  flipped) with a feature Subset x scaler x PCA x {logreg, random forest, svm, MLP} x
  hyperparameters (~2**44), 3-fold stratified CV accuracy.

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
    params |= {"target": Categorical(["none", "quantile", "power"])}
    params |= _regressor_params(m, knn_max=60)
    return SearchSpace(params)


def _regressor_params(m: str, knn_max: int) -> dict[str, Any]:
    """The regressor family ``m`` (ridge, svr, hgb, knn) and each one's hyperparameters,
    active only with their family (diabetes and friedman)."""
    return {
        m: Categorical(["ridge", "svr", "hgb", "knn"]),
        "ridge_alpha": Float(1e-3, 1e3, log=True, bins=16, active_if=_only(m, "ridge")),
        "svr_C": Float(1e-2, 1e3, log=True, bins=16, active_if=_only(m, "svr")),
        "svr_gamma": Float(1e-4, 1.0, log=True, bins=16, active_if=_only(m, "svr")),
        "svr_epsilon": Float(0.01, 1.0, log=True, bins=8, active_if=_only(m, "svr")),
        "hgb_learning_rate": Float(0.01, 1.0, log=True, bins=8, active_if=_only(m, "hgb")),
        "hgb_max_leaf_nodes": Integer(4, 64, log=True, bins=8, active_if=_only(m, "hgb")),
        "hgb_l2": Float(1e-3, 10.0, log=True, bins=8, active_if=_only(m, "hgb")),
        "hgb_min_samples_leaf": Integer(2, 64, log=True, bins=8, active_if=_only(m, "hgb")),
        "knn_n_neighbors": Integer(1, knn_max, log=True, bins=16, active_if=_only(m, "knn")),
        "knn_weights": Categorical(["uniform", "distance"], active_if=_only(m, "knn")),
        "knn_p": Integer(1, 2, active_if=_only(m, "knn")),
    }


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


def _regressor(config: Config, seed: int) -> Any:
    """The regressor of ``config``'s family (:func:`_regressor_params`): diabetes, friedman."""
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
    est = make_pipeline(prep, _regressor(config, seed))
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


# --- two more held-out tasks (declared 04:01 UTC 2026-12-01, before any sampler ran) ---

FRIEDMAN_COLUMNS = 24
FRIEDMAN_TREATMENTS = ("drop", "standard", "spline")
MULTI_COLUMNS = 30


def friedman_data() -> tuple[np.ndarray, np.ndarray]:
    """make_friedman1: 300 rows, 24 columns of which x00-x04 enter the target, noise 1."""
    from sklearn.datasets import make_friedman1

    return make_friedman1(n_samples=300, n_features=FRIEDMAN_COLUMNS, noise=1.0, random_state=0)


def friedman_space() -> SearchSpace:
    """A treatment per column (drop, standard, cubic spline) x regressor x hyperparameters
    (3**24 x ~6,000 ~ 2**50)."""
    m = "model"
    params: dict[str, Any] = {
        f"c{j:02d}": Categorical(list(FRIEDMAN_TREATMENTS)) for j in range(FRIEDMAN_COLUMNS)
    }
    params |= _regressor_params(m, knn_max=40)
    return SearchSpace(params)


def train_friedman(config: Config, seed: int) -> float:
    """3-fold CV R^2 of ``config`` on the friedman table (maximised; no column kept: 0)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler
    from threadpoolctl import threadpool_limits

    X, y = friedman_data()
    parts = []
    for name, build in (
        ("standard", StandardScaler),
        ("spline", lambda: SplineTransformer(n_knots=5, degree=3)),
    ):
        cols = [j for j in range(FRIEDMAN_COLUMNS) if config[f"c{j:02d}"] == name]
        if cols:
            parts.append((name, build(), cols))
    if not parts:
        return 0.0
    est = make_pipeline(ColumnTransformer(parts, remainder="drop"), _regressor(config, seed))
    folds = KFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        return float(cross_val_score(est, X, y, cv=folds, scoring="r2").mean())


def multiclass_data() -> tuple[np.ndarray, np.ndarray]:
    """make_classification: 500 rows, 30 columns (6 informative, 4 redundant), 4 classes of
    2 clusters each, 5% labels flipped."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=500,
        n_features=MULTI_COLUMNS,
        n_informative=6,
        n_redundant=4,
        n_classes=4,
        n_clusters_per_class=2,
        flip_y=0.05,
        class_sep=0.9,
        random_state=1,
    )


def multiclass_space() -> SearchSpace:
    """A 30-column feature Subset x scaler x optional PCA x {logreg, random forest, svm,
    sklearn MLP} x hyperparameters (2**30 x ~3 x 4 x ~2,000 ~ 2**44)."""
    from metarl.space import Subset

    m = "model"
    return SearchSpace(
        {
            "features": Subset([f"x{j:02d}" for j in range(MULTI_COLUMNS)]),
            "scaler": Categorical(["standard", "quantile", "robust"]),
            "pca": Categorical(["none", "0.7", "0.85", "0.95"]),
            m: Categorical(["logreg", "forest", "svm", "mlp"]),
            "logreg_C": Float(1e-3, 1e3, log=True, bins=16, active_if=_only(m, "logreg")),
            "logreg_penalty": Categorical(["l2", "l1"], active_if=_only(m, "logreg")),
            "forest_max_depth": Integer(2, 32, log=True, bins=8, active_if=_only(m, "forest")),
            "forest_max_features": Float(0.1, 1.0, bins=8, active_if=_only(m, "forest")),
            "forest_min_samples_leaf": Integer(
                1, 16, log=True, bins=8, active_if=_only(m, "forest")
            ),
            "svm_C": Float(1e-2, 1e3, log=True, bins=16, active_if=_only(m, "svm")),
            "svm_gamma": Float(1e-4, 1.0, log=True, bins=16, active_if=_only(m, "svm")),
            "mlp_width": Integer(8, 256, log=True, bins=8, active_if=_only(m, "mlp")),
            "mlp_alpha": Float(1e-5, 1.0, log=True, bins=8, active_if=_only(m, "mlp")),
            "mlp_lr": Float(1e-4, 0.1, log=True, bins=8, active_if=_only(m, "mlp")),
        }
    )


def train_multiclass(config: Config, seed: int) -> float:
    """3-fold stratified CV accuracy of ``config`` on the multiclass table (no column
    kept: the majority class's share)."""
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler
    from sklearn.svm import SVC
    from threadpoolctl import threadpool_limits

    X, y = multiclass_data()
    cols = [int(c[1:]) for c in config["features"]]
    if not cols:
        return float(np.bincount(y).max() / len(y))
    scaler = {
        "standard": StandardScaler,
        "quantile": lambda: QuantileTransformer(n_quantiles=100),
        "robust": RobustScaler,
    }[config["scaler"]]()
    steps: list[Any] = [scaler]
    if config["pca"] != "none":
        steps.append(PCA(n_components=float(config["pca"]), random_state=seed))
    model = config["model"]
    if model == "logreg":
        steps.append(
            LogisticRegression(
                C=config["logreg_C"],
                penalty=config["logreg_penalty"],
                solver="saga",
                max_iter=200,
            )
        )
    elif model == "forest":
        steps.append(
            RandomForestClassifier(
                n_estimators=40,
                max_depth=config["forest_max_depth"],
                max_features=config["forest_max_features"],
                min_samples_leaf=config["forest_min_samples_leaf"],
                random_state=seed,
            )
        )
    elif model == "svm":
        steps.append(SVC(C=config["svm_C"], gamma=config["svm_gamma"]))
    else:
        steps.append(
            MLPClassifier(
                (config["mlp_width"],),
                alpha=config["mlp_alpha"],
                learning_rate_init=config["mlp_lr"],
                max_iter=60,
                random_state=seed,
            )
        )
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        return float(cross_val_score(make_pipeline(*steps), X[:, cols], y, cv=folds).mean())
