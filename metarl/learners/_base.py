"""The meta-learner contract, and the template every built-in learner follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from metarl.learners._transform import TargetTransform


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

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


def check_target_names(names: Sequence[str] | None, k: int) -> list[str]:
    """Validate ``target_names`` for ``k`` targets (default ``["y0", "y1", ...]``)."""
    if names is None:
        return [f"y{j}" for j in range(k)]
    if isinstance(names, str):
        names = [names]
    names = [str(n) for n in names]
    if len(names) != k:
        raise ValueError(f"target_names has {len(names)} names but y has {k} target column(s)")
    if len(set(names)) != k:
        raise ValueError(f"target_names must be unique, got {names}")
    return names


class StandardizedPredict:
    """``predict`` of a learner that predicts on its standardised target scale
    (``predict_standardized``) and maps back with ``to_metric_scale``."""

    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted mean on the metric's scale, and with ``return_std`` its std.

        Shapes follow the ``y`` given to ``fit``: ``(n,)`` for 1-D, ``(n, k)`` for 2-D.
        """
        out = self.predict_standardized(X, return_std)
        mu, sd = out if return_std else (out, None)
        mean, std = self.to_metric_scale(mu, sd)
        if self._y_ndim_ == 1:
            mean = mean[:, 0]
            std = None if std is None else std[:, 0]
        return (mean, std) if return_std else mean


class TransformedTargetLearner(StandardizedPredict, MetaLearner):
    """Template of the built-in learners (SB3-style: the loop here, the model in two hooks).

    ``fit`` validates ``X`` and ``y``, fits one :class:`~metarl.learners.TargetTransform`
    per target column (``target_transform``), and calls :meth:`_fit_target` once per column
    on the standardised transformed target. ``predict`` works in chunks of ``_chunk_rows``
    rows, calls :meth:`_predict_target` per target, and maps the result back to the metric's
    scale. A subclass implements only the two hooks.
    """

    _chunk_rows: int = 65536
    target_transform: str
    random_state: Any

    @abstractmethod
    def _fit_target(self, X: np.ndarray, z: np.ndarray, seed: int) -> Any:
        """Fit one model on features ``X`` and one standardised target ``z``; return it."""

    @abstractmethod
    def _predict_target(
        self, model: Any, X: np.ndarray, return_std: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean and (when asked) std of ``model`` on ``X`` on the standardised scale."""

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, target_names: Sequence[str] | None = None
    ) -> TransformedTargetLearner:
        """Fit on encoded configs ``X`` (n, d) and targets ``y`` (n,) or (n, k).

        Raises:
            ValueError: NaN/inf in ``X`` or ``y``, mismatched lengths, a log transform of a
                non-positive target, or ``target_names`` of the wrong length.
        """
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=[np.float32, np.float64]
        )
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim_ = y.ndim
        Y = y.reshape(len(y), -1)
        self.n_targets_ = Y.shape[1]
        self.target_names_ = check_target_names(target_names, self.n_targets_)
        self.transforms_ = [
            TargetTransform(self.target_transform, name).fit(Y[:, j])
            for j, name in enumerate(self.target_names_)
        ]
        seeds = np.random.default_rng(self.random_state).integers(2**31 - 1, size=self.n_targets_)
        self.models_ = [
            self._fit_target(X, t.transform(Y[:, j]), int(seeds[j]))
            for j, t in enumerate(self.transforms_)
        ]
        return self

    def predict_standardized(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Prediction on the standardised transformed scale, always ``(n, n_targets)``.

        This is the scale the models were fitted on (e.g. standardised log-loss), where a
        mean and a std combine sensibly in acquisition functions.
        """
        check_is_fitted(self, "models_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        n = X.shape[0]
        mu = np.empty((n, self.n_targets_))
        sd = np.empty((n, self.n_targets_)) if return_std else None
        for start in range(0, n, self._chunk_rows):
            rows = slice(start, min(start + self._chunk_rows, n))
            for j, model in enumerate(self.models_):
                m, s = self._predict_target(model, X[rows], return_std)
                mu[rows, j] = m
                if sd is not None:
                    sd[rows, j] = s
        return (mu, sd) if sd is not None else mu

    def to_metric_scale(
        self, mu: np.ndarray, sd: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Map ``(n, n_targets)`` standardised predictions back to the metrics' scales."""
        check_is_fitted(self, "transforms_")
        mean = np.empty_like(mu)
        std = None if sd is None else np.empty_like(mu)
        for j, t in enumerate(self.transforms_):
            m, s = t.inverse(mu[:, j], None if sd is None else sd[:, j])
            mean[:, j] = m
            if std is not None:
                std[:, j] = s
        return mean, std
