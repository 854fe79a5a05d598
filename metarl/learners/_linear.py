"""Bayesian ridge regression, optionally on pairwise interaction features."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import BayesianRidge
from sklearn.utils.validation import check_is_fitted

from metarl.learners._base import TransformedTargetLearner
from metarl.learners._torch_scoring import LinearHead, TorchModel


def pairwise_products(X: np.ndarray) -> np.ndarray:
    """``X`` followed by the products of every pair of its columns (i < j)."""
    i, j = np.triu_indices(X.shape[1], k=1)
    return np.hstack([X, X[:, i] * X[:, j]])


class LinearLearner(TransformedTargetLearner):
    """Bayesian ridge regression (scikit-learn's ``BayesianRidge``); std is the posterior
    predictive std (weights' posterior plus the fitted noise).

    Args:
        interactions: add the product of every pair of features, so the model can learn
            two-way effects (e.g. two edges of a cell both being "none").
        max_iter: iterations of the evidence maximisation.
        target_transform: ``"auto"``, ``"log"``, ``"rank"`` or ``"none"``
            (see :class:`~metarl.learners.TargetTransform`).
        random_state: unused (the fit is deterministic); kept for a uniform API.
    """

    def __init__(
        self,
        interactions: bool = False,
        max_iter: int = 300,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.interactions = interactions
        self.max_iter = max_iter
        self.target_transform = target_transform
        self.random_state = random_state

    @property
    def n_iter_(self) -> int:
        """Evidence-maximisation iterations (the largest over targets)."""
        check_is_fitted(self, "models_")
        return max(int(m.n_iter_) for m in self.models_)

    def _features(self, X: np.ndarray) -> np.ndarray:
        # float64: one-hot blocks and active bits are collinear, and a near-noise-free fit
        # gives large cancelling weights that float32 turns into batch-dependent garbage
        X = np.asarray(X, dtype=np.float64)
        return pairwise_products(X) if self.interactions else X

    def _fit_target(self, X: np.ndarray, z: np.ndarray, seed: int) -> BayesianRidge:
        return BayesianRidge(max_iter=self.max_iter).fit(self._features(X), z)

    def _predict_target(
        self, model: BayesianRidge, X: np.ndarray, return_std: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        F = self._features(X)
        if return_std:
            mu, sd = model.predict(F, return_std=True)
            # on a near-exact fit the posterior variance can round below zero: floor it at
            # the fitted noise level instead of returning NaN
            return mu, np.where(np.isfinite(sd), sd, np.sqrt(1.0 / model.alpha_))
        return model.predict(F), None

    def torch_model(self, target: int = 0, return_std: bool = True) -> TorchModel:
        """Target ``target``'s prediction as a first layer and head, for torch scoring.

        The mean is ``x @ coef + intercept``; the std's quadratic form
        ``(x - x_offset) Sigma (x - x_offset)^T`` is the squared norm of
        ``(x - x_offset) @ L`` with ``L = V sqrt(E)`` from ``Sigma``'s eigendecomposition, so
        it is one matmul and never negative (see :mod:`metarl.learners._torch_scoring`).

        Raises:
            ValueError: with ``interactions=True`` (its features are not affine in ``x``).
        """
        check_is_fitted(self, "models_")
        if self.interactions:
            raise ValueError("torch scoring of LinearLearner needs interactions=False")
        model = self.models_[target]
        weight = np.asarray(model.coef_, dtype=np.float64)[:, None]
        bias = np.asarray([model.intercept_], dtype=np.float64)
        if not return_std:
            return TorchModel(weight, bias, LinearHead(None))
        e, V = np.linalg.eigh(np.asarray(model.sigma_, dtype=np.float64))
        L = V * np.sqrt(np.clip(e, 0.0, None))
        weight = np.hstack([weight, L])
        bias = np.concatenate([bias, -np.asarray(model.X_offset_, dtype=np.float64) @ L])
        return TorchModel(weight, bias, LinearHead(1.0 / float(model.alpha_)))
