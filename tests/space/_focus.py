"""A conditional space with context, a focus of it, and a real learner fitted on the whole
space: shared by the restriction tests."""

from __future__ import annotations

import numpy as np

from metarl.learners import ForestLearner
from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, Subset

FEATURES = [f"f{i}" for i in range(5)]
FOCUS = {
    "fixed": {"model": "svm", "scale": True},
    "ranges": {"C": [0.01, 100.0]},
    "choices": {"n_layers": [2, 4]},
    "items": {"features": {"include": ["f0"], "exclude": ["f4"]}},
}


def make_space() -> SearchSpace:
    return SearchSpace(
        {
            "model": Categorical(["svm", "knn", "gb"]),
            "C": Float(1e-3, 1e3, log=True, bins=8, active_if={"model": ["svm"]}),
            "k": Integer(1, 50, active_if={"model": ["knn"]}),
            "n_layers": Categorical([1, 2, 3, 4]),
            "units": Integer(8, 512, log=True, bins=6, active_if={"n_layers": [3, 4]}),
            "features": Subset(FEATURES),
            "scale": Boolean(),
        },
        context={"dataset": Categorical(["a", "b"])},
        context_values={"dataset": "a"},
    )


def objective(space: SearchSpace, M: np.ndarray) -> np.ndarray:
    """A deterministic metric of the configs (the learner's target)."""
    X = space.encode_matrix(M).astype(np.float64)
    w = np.cos(np.arange(X.shape[1]))
    return X @ w + np.sin(3 * X).sum(axis=1)


def fit_learner(space: SearchSpace, n: int = 200) -> ForestLearner:
    """A real meta-learner fitted on ``n`` configs of ``space`` (the parent)."""
    M = space.sample_matrix(n, seed=0)
    return ForestLearner(n_estimators=50, random_state=0).fit(
        space.encode_matrix(M), objective(space, M)
    )


def in_focus_by_hand(c: dict) -> bool:
    """Whether a config lies in :data:`FOCUS`, written out without the space's help."""
    return (
        c["model"] == "svm"
        and 0.01 <= c["C"] <= 100.0
        and c["n_layers"] in (2, 4)
        and "f0" in c["features"]
        and "f4" not in c["features"]
        and c["scale"] is True
    )
