"""Small real spaces and a small real meta-learner for the policy tests."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners._base import MetaLearner
from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, Subset


class RidgeLearner(MetaLearner):
    """Ridge regression with a residual-based std: tiny, real, and fast."""

    def __init__(self, alpha: float = 1e-3) -> None:
        self.alpha = alpha

    def fit(self, X, y, *, target_names=None):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        self.n_targets_ = 1 if y.ndim == 1 else y.shape[1]
        self.target_names_ = list(target_names or [f"y{i}" for i in range(self.n_targets_)])
        A = np.c_[X, np.ones(len(X))]
        self.coef_ = np.linalg.solve(A.T @ A + self.alpha * np.eye(A.shape[1]), A.T @ y)
        self.sigma_ = np.std(y - A @ self.coef_, axis=0) + 1e-3
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X, return_std=False):
        X = np.asarray(X, dtype=np.float64)
        mu = np.c_[X, np.ones(len(X))] @ self.coef_
        if not return_std:
            return mu
        # std grows with the distance from the centre so that ucb and lcb differ
        sd = self.sigma_ * (1.0 + np.abs(X - 0.5).sum(axis=1))
        return mu, sd if mu.ndim == 1 else np.repeat(sd[:, None], mu.shape[1], 1)


def objective(space: SearchSpace, M: np.ndarray) -> np.ndarray:
    """A fixed smooth function of the encoding (minimised)."""
    X = space.encode_matrix(M).astype(np.float64)
    w = np.sin(np.arange(X.shape[1]) + 1.0)
    return X @ w


@pytest.fixture
def small_space() -> SearchSpace:
    """48 configs, with a condition."""
    return SearchSpace(
        {
            "model": Categorical(["a", "b", "c"]),
            "depth": Integer(1, 4),
            "wide": Boolean(active_if={"model": ["a", "b"]}),
            "lr": Float(1e-3, 1e-1, log=True, bins=2),
        }
    )


@pytest.fixture
def big_space() -> SearchSpace:
    """About 2**30 configs: a Subset plus hyperparameters."""
    return SearchSpace(
        {
            "features": Subset([f"f{i}" for i in range(24)]),
            "model": Categorical(["svm", "knn", "tree"]),
            "C": Float(1e-2, 1e2, log=True, active_if={"model": ["svm"]}),
            "k": Integer(1, 30, active_if={"model": ["knn"]}),
            "depth": Integer(1, 12, active_if={"model": ["tree"]}),
        }
    )


def fit_learner(space: SearchSpace, n: int = 200, seed: int = 0) -> RidgeLearner:
    M = space.sample_matrix(n, seed)
    return RidgeLearner().fit(space.encode_matrix(M), objective(space, M))


@pytest.fixture
def small_learner(small_space) -> RidgeLearner:
    return fit_learner(small_space)


@pytest.fixture
def big_learner(big_space) -> RidgeLearner:
    return fit_learner(big_space)
