"""Tree ensembles (extra-trees or random forest); std across the trees."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

from metarl.learners._base import TransformedTargetLearner

_KINDS = {"extra_trees": ExtraTreesRegressor, "random_forest": RandomForestRegressor}


class ForestLearner(TransformedTargetLearner):
    """Extra-trees (default) or random forest; the std is the spread of the trees.

    Args:
        kind: ``"extra_trees"`` or ``"random_forest"``.
        n_estimators: number of trees.
        min_samples_leaf: minimum training points per leaf.
        max_features: features tried per split (scikit-learn's meaning; 1.0 = all).
        n_jobs: threads for fitting (scikit-learn's meaning).
        target_transform: ``"auto"``, ``"log"``, ``"rank"`` or ``"none"``.
        random_state: seed.
    """

    def __init__(
        self,
        kind: str = "extra_trees",
        n_estimators: int = 200,
        min_samples_leaf: int = 2,
        max_features: float | int | str | None = 1.0,
        n_jobs: int | None = None,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.kind = kind
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.target_transform = target_transform
        self.random_state = random_state

    def _fit_target(self, X: np.ndarray, z: np.ndarray, seed: int):
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {self.kind!r}")
        model = _KINDS[self.kind](
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            n_jobs=self.n_jobs,
            random_state=seed,
        )
        return model.fit(X, z)

    def _predict_target(self, model, X: np.ndarray, return_std: bool):
        Xf = np.ascontiguousarray(X, dtype=np.float32)
        if not return_std:
            return model.predict(Xf), None
        # per-tree values of each row's leaf; one pass, no (n_trees, n) Python loop per row
        s = np.zeros(len(Xf))
        s2 = np.zeros(len(Xf))
        for tree in model.estimators_:
            p = tree.predict(Xf, check_input=False)
            s += p
            s2 += p * p
        t = len(model.estimators_)
        mean = s / t
        return mean, np.sqrt(np.maximum(s2 / t - mean * mean, 0.0))
