"""Combinations of learners: an averaging ensemble, and ``auto`` (chosen by CV rank quality)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted, validate_data

from metarl.learners._base import MetaLearner, TransformedTargetLearner, check_target_names
from metarl.learners._evaluate import cross_val_predict, score_predictions

Candidate = str | MetaLearner


def _build(c: Candidate, **params) -> MetaLearner:
    """A fresh learner from a name or a template instance, with the given params if it has them."""
    from metarl.learners._registry import make_learner

    if isinstance(c, str):
        est = make_learner(c)
    elif isinstance(c, MetaLearner):
        est = clone(c)
    else:
        raise ValueError(f"a candidate must be a learner name or a MetaLearner, got {c!r}")
    own = est.get_params(deep=False)
    return est.set_params(**{k: v for k, v in params.items() if k in own})


def _label(c: Candidate) -> str:
    return c if isinstance(c, str) else type(c).__name__


class EnsembleLearner(TransformedTargetLearner):
    """Average of several learners on the standardised target scale.

    Each member is fitted on the same standardised transformed target; the prediction is
    the weighted mean of the members' means, the std that of the mixture
    (``sqrt(sum w (std_i^2 + mean_i^2) - mean^2)``). The default, a GP averaged with an MLP
    ensemble, ranks better than either alone on NAS-Bench-201 (see the README's table).

    Args:
        members: learner names or template instances (cloned).
        weights: one non-negative weight per member (default equal).
        target_transform: ``"auto"``, ``"log"``, ``"rank"`` or ``"none"``.
        random_state: seed handed to every member that takes one.
    """

    def __init__(
        self,
        members: Sequence[Candidate] = ("gp", "mlp_ensemble"),
        weights: Sequence[float] | None = None,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.members = members
        self.weights = weights
        self.target_transform = target_transform
        self.random_state = random_state

    def _weights(self) -> np.ndarray:
        k = len(self.members)
        if k == 0:
            raise ValueError("members must name at least one learner")
        w = np.ones(k) if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        if w.shape != (k,) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be {k} non-negative numbers, got {self.weights!r}")
        return w / w.sum()

    def _fit_target(self, X: np.ndarray, z: np.ndarray, seed: int) -> list[MetaLearner]:
        self._weights()
        return [
            _build(m, target_transform="none", random_state=seed).fit(X, z) for m in self.members
        ]

    def _predict_target(self, model: list[MetaLearner], X: np.ndarray, return_std: bool):
        w = self._weights()
        outs = [m.predict(X, return_std=return_std) for m in model]
        if not return_std:
            return np.tensordot(w, np.asarray(outs), axes=1), None
        mus = np.asarray([o[0] for o in outs])
        sds = np.asarray([o[1] for o in outs])
        mean = np.tensordot(w, mus, axes=1)
        second = np.tensordot(w, sds**2 + mus**2, axes=1)
        return mean, np.sqrt(np.maximum(second - mean**2, 0.0))


class AutoLearner(MetaLearner):
    """Chooses among candidate learners by cross-validated Spearman correlation.

    Each candidate is scored by the Spearman correlation of its pooled out-of-fold
    predictions (shuffled ``cv``-fold) with the first target (the primary metric); the best
    is refitted on all the data and used for prediction. With fewer than 5 rows there is
    nothing to cross-validate and the first candidate is used.

    Args:
        candidates: learner names or template instances.
        cv: folds.
        target_transform: handed to every candidate that takes one.
        random_state: seed of the folds and of the candidates.

    Fitted attributes: ``chosen_`` (the winner's name), ``cv_scores_`` (name -> CV
    spearman), ``best_estimator_`` (the winner, fitted on all the data).
    """

    def __init__(
        self,
        candidates: Sequence[Candidate] = ("gp", "forest", "linear", "mlp_ensemble", "ensemble"),
        cv: int = 5,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.candidates = candidates
        self.cv = cv
        self.target_transform = target_transform
        self.random_state = random_state

    def fit(
        self, X: np.ndarray, y: np.ndarray, *, target_names: Sequence[str] | None = None
    ) -> AutoLearner:
        """Score every candidate by CV, then refit the best on all of ``(X, y)``."""
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=[np.float32, np.float64]
        )
        if len(self.candidates) == 0:
            raise ValueError("candidates must name at least one learner")
        y = np.asarray(y, dtype=np.float64)
        self.n_targets_ = 1 if y.ndim == 1 else y.shape[1]
        self.target_names_ = check_target_names(target_names, self.n_targets_)
        params = {"target_transform": self.target_transform, "random_state": self.random_state}
        y0 = y if y.ndim == 1 else y[:, 0]
        seed = 0 if self.random_state is None else int(self.random_state)
        self.cv_scores_: dict[str, float] = {}
        if len(y0) >= 5:
            cv = min(int(self.cv), len(y0))
            for c in self.candidates:
                oof = cross_val_predict(_build(c, **params), X, y0, cv=cv, seed=seed)
                rho = score_predictions(y0, oof)["spearman"]
                self.cv_scores_[_label(c)] = -1.0 if np.isnan(rho) else rho
            best = int(np.argmax(list(self.cv_scores_.values())))
        else:
            best = 0
        self.chosen_ = _label(self.candidates[best])
        self.best_estimator_ = _build(self.candidates[best], **params).fit(
            X, y, target_names=self.target_names_
        )
        return self

    def predict(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The chosen learner's prediction (see :meth:`MetaLearner.predict`)."""
        check_is_fitted(self, "best_estimator_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return self.best_estimator_.predict(X, return_std=return_std)

    def predict_standardized(self, X: np.ndarray, return_std: bool = False):
        """The chosen learner's prediction on its standardised target scale."""
        check_is_fitted(self, "best_estimator_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return self.best_estimator_.predict_standardized(X, return_std=return_std)

    def to_metric_scale(self, mu: np.ndarray, sd: np.ndarray | None = None):
        """The chosen learner's map from standardised predictions to the metrics' scales."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.to_metric_scale(mu, sd)
