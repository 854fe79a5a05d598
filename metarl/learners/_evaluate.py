"""Quality of a meta-learner's predictions, above all their rank quality."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, spearmanr
from sklearn.base import clone
from sklearn.model_selection import KFold

from metarl.learners._base import MetaLearner
from metarl.type_aliases import Direction


def top_recall(
    y_true: np.ndarray, y_pred: np.ndarray, *, direction: Direction = "minimize", top: float = 0.1
) -> float:
    """Share of the truly best ``top`` fraction found in the predicted best ``top`` fraction."""
    k = max(1, int(round(top * len(y_true))))
    sign = 1.0 if direction == "minimize" else -1.0
    best_true = np.argsort(sign * np.asarray(y_true), kind="stable")[:k]
    best_pred = np.argsort(sign * np.asarray(y_pred), kind="stable")[:k]
    return len(np.intersect1d(best_true, best_pred)) / k


def score_predictions(
    y_true: np.ndarray, y_pred: np.ndarray, *, direction: Direction = "minimize"
) -> dict[str, float]:
    """rmse, r2, spearman, kendall and top10_recall of predictions of one target.

    Args:
        y_true: (n,) true values.
        y_pred: (n,) predictions.
        direction: ``"minimize"`` or ``"maximize"``: which end is the "top" of top10_recall.
    """
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    resid = y_true - y_pred
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    const = np.ptp(y_pred) == 0 or np.ptp(y_true) == 0
    return {
        "rmse": float(np.sqrt((resid**2).mean())),
        "r2": 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
        "spearman": float("nan") if const else float(spearmanr(y_true, y_pred)[0]),
        "kendall": float("nan") if const else float(kendalltau(y_true, y_pred)[0]),
        "top10_recall": top_recall(y_true, y_pred, direction=direction),
    }


def cross_val_predict(
    learner: MetaLearner, X: np.ndarray, y: np.ndarray, cv: int = 5, seed: int = 0
) -> np.ndarray:
    """Out-of-fold predictions of clones of ``learner`` (shuffled K-fold), shaped like y."""
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64)
    if cv < 2 or cv > len(y):
        raise ValueError(f"cv must be between 2 and the number of rows ({len(y)}), got {cv}")
    out = np.empty_like(y)
    for tr, te in KFold(cv, shuffle=True, random_state=seed).split(X):
        out[te] = clone(learner).fit(X[tr], y[tr]).predict(X[te])
    return out


def evaluate(
    learner: MetaLearner | str,
    X: np.ndarray,
    y: np.ndarray,
    cv: int = 5,
    seed: int = 0,
    direction: Direction = "minimize",
) -> dict[str, float] | dict[str, np.ndarray]:
    """Cross-validated quality of ``learner`` (an instance or a registered name) on ``(X, y)``.

    Clones of ``learner`` are fitted on ``cv - 1`` folds (shuffled with ``seed``) and
    predict the held-out fold; the pooled out-of-fold predictions are scored by
    :func:`score_predictions`.

    Returns:
        ``{"rmse", "r2", "spearman", "kendall", "top10_recall"}``: floats for a 1-D ``y``,
        arrays (one value per target) for a 2-D ``y``.
    """
    if isinstance(learner, str):
        from metarl.learners._registry import make_learner

        learner = make_learner(learner)
    y = np.asarray(y, dtype=np.float64)
    oof = cross_val_predict(learner, X, y, cv=cv, seed=seed)
    if y.ndim == 1:
        return score_predictions(y, oof, direction=direction)
    per = [score_predictions(y[:, j], oof[:, j], direction=direction) for j in range(y.shape[1])]
    return {k: np.array([p[k] for p in per]) for k in per[0]}
