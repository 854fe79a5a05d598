"""Small real spaces and a real meta-learner (Bayesian ridge) for the policy tests."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners import LinearLearner
from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, Subset


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


def fit_learner(space: SearchSpace, n: int = 200, seed: int = 0) -> LinearLearner:
    M = space.sample_matrix(n, seed)
    return LinearLearner(target_transform="none").fit(space.encode_matrix(M), objective(space, M))


@pytest.fixture
def small_learner(small_space) -> LinearLearner:
    return fit_learner(small_space)


@pytest.fixture
def big_learner(big_space) -> LinearLearner:
    return fit_learner(big_space)
