"""Fixtures of the design-environment tests: small spaces and a small real meta-learner."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sklearn.linear_model import BayesianRidge

from metarl.learners._base import MetaLearner
from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, Subset


class RidgeLearner(MetaLearner):
    """One Bayesian ridge per target: a small, real learner with a predictive std."""

    def __init__(self, alpha_1: float = 1e-6) -> None:
        self.alpha_1 = alpha_1

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, target_names: Sequence[str] | None = None
    ) -> RidgeLearner:
        y = np.asarray(y, dtype=np.float64)
        self._1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        self.models_ = [
            BayesianRidge(alpha_1=self.alpha_1).fit(X, Y[:, k]) for k in range(Y.shape[1])
        ]
        self.n_features_in_ = X.shape[1]
        self.n_targets_ = Y.shape[1]
        self.target_names_ = list(target_names or [f"y{k}" for k in range(Y.shape[1])])
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):
        out = [m.predict(X, return_std=True) for m in self.models_]
        mu = np.stack([o[0] for o in out], axis=1)
        sd = np.stack([o[1] for o in out], axis=1)
        if self._1d:
            mu, sd = mu[:, 0], sd[:, 0]
        return (mu, sd) if return_std else mu


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


def fit_learner(space: SearchSpace, k: int = 1, n: int = 200, seed: int = 0) -> RidgeLearner:
    X = space.encode_matrix(space.sample_matrix(n, seed=seed))
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(X.shape[1], k))
    Y = X @ w + 0.1 * rng.normal(size=(n, k))
    if k == 1:
        return RidgeLearner().fit(X, Y[:, 0], target_names=["val_loss"])
    return RidgeLearner().fit(X, Y, target_names=["val_loss", "train_time", "size"][:k])


@pytest.fixture(params=["flat", "conditional"])
def space(request) -> SearchSpace:
    return flat_space() if request.param == "flat" else conditional_space()


@pytest.fixture
def learner(space) -> RidgeLearner:
    return fit_learner(space)
