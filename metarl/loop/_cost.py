"""What an evaluation costs: trainer seconds predicted per config and fidelity, and the cost
of raising an evaluated config when the trainer continues it (:mod:`metarl.loop._fidelity`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from metarl.space import Fidelity, SearchSpace
from metarl.type_aliases import ConfigMatrix

__all__ = ["MIN_RAISE_SHARE", "CostModel", "continued_cost"]

#: The least share of a level's from-scratch cost that a continued raise is priced at (a call
#: has overheads of its own: building the model, validating, the executor).
MIN_RAISE_SHARE = 0.05


class CostModel:
    """Predicted trainer seconds of configs at their fidelities.

    Trainer seconds scale roughly with the fidelity (samples, epochs) times a per-config
    factor (model, width, ...). The model is that prior, ``seconds = c * fidelity / full``,
    times ``exp(r(x))``, where ``r`` is a ridge regression of the residual log seconds on the
    encoded config, ``log(fidelity / full)`` and their products (fixed overheads, a config's
    own cost, and how much the fidelity matters for it: a boosted model's seconds hardly
    shrink with its training rows, a kernel model's do). Before
    ``min_points`` recorded seconds, ``r = 0`` and ``c = 1``: costs are relative.

    Args:
        space: the space of the configs.
        name: the fidelity (:func:`loop_fidelity`).
        alpha: the ridge penalty.
        min_points: recorded seconds needed before fitting.
    """

    def __init__(
        self, space: SearchSpace, name: str, *, alpha: float = 1.0, min_points: int = 3
    ) -> None:
        self.space, self.name, self.alpha, self.min_points = space, name, alpha, min_points
        self.n_fit_ = 0
        self._ridge: Any = None

    def _features(self, M: ConfigMatrix) -> tuple[np.ndarray, np.ndarray]:
        p: Fidelity = self.space.params[self.name]  # type: ignore[assignment]
        f = M[:, self.space.column_slices[self.name].start]
        rel = np.where(np.isnan(f), 1.0, f / float(p.full))
        log_rel = np.log(np.clip(rel, 1e-12, None))
        enc = self.space.encode_matrix(M).astype(np.float64)
        X = np.column_stack([enc, log_rel, enc * log_rel[:, None]])
        return X, log_rel

    def fit(self, M: ConfigMatrix, seconds: np.ndarray) -> CostModel:
        """Fit on evaluated configs and their recorded seconds (non-positive or NaN skipped)."""
        from sklearn.linear_model import Ridge

        M = np.asarray(M, dtype=np.float64)
        s = np.asarray(seconds, dtype=np.float64)
        ok = np.isfinite(s) & (s > 0)
        self.n_fit_ = int(ok.sum())
        self._ridge = None
        if self.n_fit_ >= self.min_points:
            X, log_rel = self._features(M[ok])
            self._ridge = Ridge(alpha=self.alpha).fit(X, np.log(s[ok]) - log_rel)
        return self

    def predict(self, M: ConfigMatrix) -> np.ndarray:
        """(n,) predicted seconds (relative to full fidelity before the fit)."""
        X, log_rel = self._features(np.asarray(M, dtype=np.float64))
        r = self._ridge.predict(X) if self._ridge is not None else 0.0
        return np.exp(log_rel + r)


def continued_cost(scratch: np.ndarray, done: np.ndarray, continuation: float) -> np.ndarray:
    """(n, levels) cost of each level: above the config's highest evaluated level, from
    scratch less ``continuation`` times that level's cost (at least :data:`MIN_RAISE_SHARE`
    of it); at or below it, from scratch (a continuing trainer keeps one checkpoint per
    config, its most trained: a level below it is trained again)."""
    n, n_lev = scratch.shape
    has = done.any(axis=1)
    top = np.where(has, n_lev - 1 - np.argmax(done[:, ::-1], axis=1), n_lev)
    base = scratch[np.arange(n), np.minimum(top, n_lev - 1)]
    above = np.arange(n_lev)[None, :] > top[:, None]
    out = np.where(above, scratch - continuation * base[:, None], scratch)
    return np.maximum(out, MIN_RAISE_SHARE * scratch)
