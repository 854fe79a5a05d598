"""Design-environment test fixtures: small spaces and a real meta-learner (Bayesian ridge)."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners import LinearLearner
from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, Subset


def flat_space() -> SearchSpace:
    return SearchSpace(
        {
            "lr": Float(1e-4, 1e-1, log=True, bins=8),
            "batch": Categorical([16, 32, 64]),
            "opt": Categorical(["sgd", "adam"]),
            "layers": Integer(1, 4),
            "bn": Boolean(),
        }
    )


def conditional_space() -> SearchSpace:
    return SearchSpace(
        {
            "model": Categorical(["mlp", "svm", "tree"]),
            "layers": Integer(1, 3, active_if={"model": ["mlp"]}),
            "units3": Categorical([32, 64], active_if={"layers": [3]}),
            "gamma": Float(1e-3, 1.0, log=True, bins=5, active_if={"model": ["svm"]}),
            "features": Subset(["a", "b", "c", "d"], min_size=2),
            "depth": Integer(2, 5, active_if={"model": ["tree"]}),
            "cols": Subset(["x", "y", "z"], min_size=1, active_if={"model": ["tree", "mlp"]}),
        },
        context={"dataset": Categorical(["d1", "d2"]), "n": Integer(10, 10000, log=True)},
        context_values={"dataset": "d2", "n": 500},
    )


def fit_learner(space: SearchSpace, k: int = 1, n: int = 200, seed: int = 0) -> LinearLearner:
    X = space.encode_matrix(space.sample_matrix(n, seed=seed))
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(X.shape[1], k))
    Y = X @ w + 0.1 * rng.normal(size=(n, k))
    if k == 1:
        return LinearLearner().fit(X, Y[:, 0], target_names=["val_loss"])
    return LinearLearner().fit(X, Y, target_names=["val_loss", "train_time", "size"][:k])


@pytest.fixture(params=["flat", "conditional"])
def space(request) -> SearchSpace:
    return flat_space() if request.param == "flat" else conditional_space()


@pytest.fixture
def learner(space) -> LinearLearner:
    return fit_learner(space)
