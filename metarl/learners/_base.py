"""The meta-learner contract: a scikit-learn regressor that also returns uncertainty."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class MetaLearner(RegressorMixin, BaseEstimator, ABC):
    """Base of every meta-learner.

    Follows the scikit-learn estimator API: every hyperparameter is an explicit keyword of
    ``__init__``, ``fit`` returns ``self``, learned state lives in attributes ending with
    ``_``, and ``sklearn.base.clone`` works.

    Targets: ``y`` is 1-D (one metric) or 2-D ``(n, n_targets)`` (e.g. val_loss and
    train_time, so that constraints can use the second). ``predict`` returns arrays of the
    same dimensionality as the ``y`` given to ``fit``, on the metric's own scale.

    Fitted attributes every learner sets: ``n_features_in_``, ``n_targets_``,
    ``target_names_`` (the names passed to ``fit``, else ``["y0", "y1", ...]``).
    """

    @abstractmethod
    def fit(
        self, X: np.ndarray, y: np.ndarray, *, target_names: Sequence[str] | None = None
    ) -> MetaLearner:
        """Fit on encoded configs ``X`` (n, d) and targets ``y`` (n,) or (n, k)."""

    @abstractmethod
    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted mean, and with ``return_std`` the predictive standard deviation."""
