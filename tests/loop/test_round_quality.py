"""The learner-quality figure of a round: exact closed-form leave-one-out for a GP, refitted
folds for any other learner, and the record saying which."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl.learners import GPLearner, LinearLearner
from metarl.learners._gp import _dist, _matern
from metarl.loop import History, initial_design, make_search_policy, refine
from metarl.loop._round import _out_of_sample
from metarl.space import Categorical, Float, SearchSpace

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=21), "y": Float(0.0, 1.0, bins=21), "c": Categorical(["a", "b"])}
)


def _f(M: np.ndarray) -> np.ndarray:
    return np.sin(3 * M[:, 0]) + (M[:, 1] - 0.4) ** 2 + 0.3 * M[:, 2]


@pytest.mark.parametrize("transform", ["none", "rank"])
def test_gp_loo_equals_refitting_without_each_row_at_fixed_hyperparameters(transform) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((30, 4))
    y = np.exp(X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.normal(size=30)
    est = GPLearner(random_state=0, n_restarts=0, target_transform=transform).fit(X, y)
    oof, method = _out_of_sample(est, X, y, 5, 0)
    assert method == "loo"
    m = est.models_[0]
    Xs = torch.as_tensor(m["X_scaled"])
    K = (float(m["amplitude"]) * _matern(_dist(Xs, Xs), est.nu)).numpy()
    K += (float(m["noise"]) + 1e-8 * float(m["amplitude"])) * np.eye(len(y))
    z = est.transforms_[0].transform(y)
    brute = np.array(
        [
            K[i, np.arange(len(y)) != i]
            @ np.linalg.solve(np.delete(np.delete(K, i, 0), i, 1), np.delete(z, i))
            for i in range(len(y))
        ]
    )
    np.testing.assert_allclose(oof, est.to_metric_scale(brute[:, None])[0][:, 0], atol=1e-8)


def test_the_record_says_how_quality_was_measured() -> None:
    M = initial_design(SPACE, 30, np.random.default_rng(1))
    h = History(M, _f(M))
    policy = make_search_policy("exhaustive", SPACE)
    kw = {"policy": policy, "seed": 0, "cv": 5}
    gp = refine(SPACE, h, 2, learner=GPLearner(n_restarts=0), **kw).record
    lin = refine(SPACE, h, 2, learner=LinearLearner(), **kw).record
    off = refine(SPACE, h, 2, learner=GPLearner(n_restarts=0), policy=policy, seed=0).record
    assert (gp["cv_method"], lin["cv_method"], off["cv_method"]) == ("loo", "5-fold", None)
    assert gp["cv_spearman"] > 0.8 and lin["cv_spearman"] is not None
    assert off["cv_spearman"] is None
