"""Transfer from many past datasets at linear cost: a ranking-weighted GP ensemble (RGPE).

RGPE (Feurer, Letham, Hutter and Bakshy, 2018, "Scalable meta-learning for Bayesian
optimization using ranking-weighted Gaussian process ensembles") keeps one GP per past
dataset and one on the target dataset, and predicts their weighted sum. A model's weight is
the share of bootstrap samples of the target's observations on which it ranks them best
(fewest discordant pairs; the target's own GP is scored leave-one-out). Where the pooled GP
costs O((sum of past points)^3) at every round, here each past GP is fitted once on at most
``max_past_points`` points and cached, so a round costs one GP on the target's rows
(exact, O(n_target^3)) plus a prediction per past dataset with non-zero weight: linear in
the number of past datasets.

Contract with the caller (the refinement round, ``Study``, ``metarl compare``)::

    learner.fit(X, y, groups=groups, target_group=target)

- ``X``, ``y``: every row, past datasets' and the target's, as for a pooled learner (the
  rows may carry the dataset's context features; see below).
- ``groups``: (n,) the dataset each row comes from (any hashable labels: task names, the
  ``repr`` of a study's context). Without ``groups`` every row is the target's and the
  learner is a plain GP.
- ``target_group``: the label of the dataset being optimised. It need not occur in
  ``groups``: with no target rows yet (zero-shot) the past models weigh equally.

A caller that also serves learners without groups passes them only where ``fit`` accepts
them (``"groups" in inspect.signature(learner.fit).parameters``).

Scales: each past GP is fitted on its dataset's rank normal scores (values of different
datasets are not comparable, their ranks are; a caller that already applied
:func:`~metarl.learners.group_normal_scores` gets the same scores back), standardised. The
target GP fits the target's values with its own ``target_transform``, standardised. The
ensemble mean ``sum_i w_i mu_i`` is on that common standardised scale
(:meth:`RGPE.predict_standardized`, which acquisitions use); :meth:`RGPE.predict` maps it to
the target's metric scale through the target GP's transform (with no target rows, it stays
on the standardised normal-score scale). The std is ``sqrt(sum_i w_i^2 sd_i^2)``, the
combination of the paper's BoTorch implementation.

A past GP ignores the features that are constant on its own data: the dataset's context
columns, which differ at prediction time (the target's context) and would otherwise
shrink its predictions by an amount it never learned.

Caching: fitted past GPs live in a process-wide LRU cache keyed by a digest of the
dataset's data and the GP settings, so a new learner every round (as the
comparison builds) refits none of them. Their predictions on a given ``X`` (the same
enumerated table every round under the ``exhaustive`` policy) are cached too.
:func:`clear_transfer_cache` empties both.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from scipy.linalg import cho_solve
from scipy.special import ndtri
from scipy.stats import rankdata
from sklearn.utils.validation import check_is_fitted, validate_data

from metarl.learners._base import MetaLearner, StandardizedPredict, check_target_names
from metarl.learners._gp import GPLearner


class _LRU:
    """A small thread-safe LRU mapping bounded by the total weight of its values."""

    def __init__(self, capacity: float, weigh: Callable[[Any], float]) -> None:
        self.capacity = capacity
        self._weigh = weigh
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._weight = 0.0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if key in self._items:
                self._weight -= self._weigh(self._items.pop(key))
            self._items[key] = value
            self._weight += self._weigh(value)
            while self._weight > self.capacity and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._weight -= self._weigh(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._weight = 0.0


#: Fitted past GPs (``max_past_points`` rows each: about half a MB apiece at 250).
_MODELS = _LRU(256, lambda _: 1)
#: Past GPs' predictions on a given X, bounded by their bytes.
_PREDICTIONS = _LRU(512 * 2**20, lambda v: sum(a.nbytes for a in v if isinstance(a, np.ndarray)))


def clear_transfer_cache() -> None:
    """Forget every cached past GP and prediction (e.g. to time a first round)."""
    _MODELS.clear()
    _PREDICTIONS.clear()


def _digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        if isinstance(p, np.ndarray):
            p = np.ascontiguousarray(p)
            h.update(f"{p.dtype.str}{p.shape}".encode())
            h.update(p.data)
        else:
            h.update(repr(p).encode())
        h.update(b"|")
    return h.hexdigest()


def _normal_scores(Y: np.ndarray) -> np.ndarray:
    """Rank normal scores of each column, ``Phi^-1(rank / (n + 1))`` (ties share a rank)."""
    return ndtri(rankdata(Y, axis=0) / (len(Y) + 1))


class RGPE(StandardizedPredict, MetaLearner):
    """Ranking-weighted ensemble of one GP per past dataset and one on the target.

    See the module docstring for the ``fit(X, y, groups=..., target_group=...)`` contract,
    the scales and the caching.

    Args:
        nu: Matern smoothness of every GP (see :class:`GPLearner`).
        n_restarts: extra optimiser starts of the target GP (refitted every round).
        past_n_restarts: extra optimiser starts of a past GP (fitted once, cached).
        max_past_points: a past dataset with more rows is subsampled (at random, the same
            rows for the same data) to this many for its GP: bounds each past fit and each
            prediction whatever the history's size.
        n_bootstrap: bootstrap samples of the target's observations for the weights.
        dilution_percentile: a past model whose median ranking loss exceeds this
            percentile of the target model's losses gets weight 0 ("weight dilution
            prevention": a bad sibling is not trusted). The paper uses 95; lower is
            stricter.
        target_transform: the target GP's transform (``"auto"``, ``"log"``, ``"rank"``,
            ``"none"``).
        random_state: seed of the bootstrap and of the target GP's starts. A past GP's
            subsample and starts are seeded by a digest of its data, so that it is the same
            model, found in the cache, whatever the seed of the learner that asks for it.

    Fitted attributes: ``n_features_in_``, ``n_targets_``, ``target_names_``;
    ``past_groups_`` (labels), ``past_models_`` (a :class:`GPLearner` each),
    ``past_columns_`` (the features each uses), ``target_model_`` (``None`` before the
    target's first row), ``weights_`` (``(n_targets, n_past + 1)``, the target's last; rows
    sum to 1), ``n_target_`` (target rows), ``n_past_fitted_`` and ``n_past_cached_``
    (past GPs fitted by this ``fit`` and found in the cache).
    """

    def __init__(
        self,
        nu: float = 2.5,
        n_restarts: int = 2,
        past_n_restarts: int = 0,
        max_past_points: int = 250,
        n_bootstrap: int = 256,
        dilution_percentile: float = 95.0,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.nu = nu
        self.n_restarts = n_restarts
        self.past_n_restarts = past_n_restarts
        self.max_past_points = max_past_points
        self.n_bootstrap = n_bootstrap
        self.dilution_percentile = dilution_percentile
        self.target_transform = target_transform
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        groups: Sequence[Hashable] | np.ndarray | None = None,
        target_group: Hashable | None = None,
        target_names: Sequence[str] | None = None,
    ) -> RGPE:
        """Fit the past GPs (or take them from the cache), the target GP and the weights.

        Raises:
            ValueError: NaN/inf in ``X`` or ``y``, mismatched lengths, ``groups`` without
                ``target_group``, or bad settings.
        """
        self._check_params()
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=[np.float32, np.float64]
        )
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim_ = y.ndim
        Y = y.reshape(len(y), -1)
        self.n_targets_ = Y.shape[1]
        self.target_names_ = check_target_names(target_names, self.n_targets_)
        if groups is None:
            groups = np.zeros(len(Y), dtype=np.int64)
            target_group = 0
        elif target_group is None:
            raise ValueError("RGPE.fit: groups given without target_group (the dataset optimised)")
        groups = np.asarray(groups)
        if groups.shape != (len(Y),):
            raise ValueError(f"groups has shape {groups.shape}, expected ({len(Y)},)")
        is_target = groups == target_group
        seed = np.random.default_rng(self.random_state).integers(2**31 - 1)

        self.past_groups_, self.past_models_, self.past_columns_, self.past_keys_ = [], [], [], []
        self.n_past_fitted_ = self.n_past_cached_ = 0
        for g in np.unique(groups[~is_target]):
            rows = groups == g
            self._add_past(g, X[rows], Y[rows])

        self.n_target_ = int(is_target.sum())
        self.target_model_ = None
        if self.n_target_ > 0:
            self.target_model_ = self._gp(self.n_restarts, self.target_transform, int(seed))
            self.target_model_.fit(X[is_target], Y[is_target], target_names=self.target_names_)
        self.weights_ = self._weights(X[is_target], Y[is_target], int(seed))
        return self

    def _check_params(self) -> None:
        if int(self.max_past_points) < 2 or int(self.n_bootstrap) < 1:
            raise ValueError("max_past_points must be >= 2 and n_bootstrap >= 1")
        if not 0 <= float(self.dilution_percentile) <= 100:
            raise ValueError(
                f"dilution_percentile must be in [0, 100], got {self.dilution_percentile!r}"
            )

    def _gp(self, n_restarts: int, transform: str, seed: int) -> GPLearner:
        return GPLearner(
            nu=self.nu, n_restarts=n_restarts, target_transform=transform, random_state=seed
        )

    def _add_past(self, group: Hashable, X: np.ndarray, Y: np.ndarray) -> None:
        """Fit (or fetch from the cache) the GP of one past dataset."""
        Z = _normal_scores(Y)  # on the full dataset: the best estimate of each point's quantile
        # seeded by the data alone, not random_state: a caller that reseeds the learner every
        # round (the refinement round does) must still find last round's models
        data_key = _digest(X, Z)
        if len(Z) > self.max_past_points:
            rng = np.random.default_rng(int(data_key[:8], 16))
            keep = np.sort(rng.choice(len(Z), int(self.max_past_points), replace=False))
            X, Z = X[keep], Z[keep]
        columns = np.flatnonzero(np.ptp(X, axis=0) > 0)
        if len(columns) == 0:  # a single distinct config: nothing to learn from its features
            columns = np.arange(X.shape[1])
        settings = (self.nu, int(self.past_n_restarts), int(self.max_past_points))
        key = _digest(data_key, settings)
        model = _MODELS.get(key)
        if model is None:
            model = self._gp(int(self.past_n_restarts), "none", int(key[:8], 16) % (2**31 - 1))
            model.fit(X[:, columns], Z)
            _MODELS.put(key, model)
            self.n_past_fitted_ += 1
        else:
            self.n_past_cached_ += 1
        self.past_groups_.append(group.item() if isinstance(group, np.generic) else group)
        self.past_models_.append(model)
        self.past_columns_.append(columns)
        self.past_keys_.append(key)

    # ------------------------------------------------------------------ weights
    def _weights(self, X: np.ndarray, Y: np.ndarray, seed: int) -> np.ndarray:
        """``(n_targets, n_past + 1)`` ranking weights (the target model's last)."""
        n_past, n = len(self.past_models_), len(Y)
        W = np.zeros((self.n_targets_, n_past + 1))
        if n_past == 0:
            W[:, -1] = 1.0
            return W
        if n < 2:  # no pair to rank yet: every past model alike, no target model to speak of
            W[:, :-1] = 1.0 / n_past
            return W
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=int(self.n_bootstrap)).astype(float)
        past = np.stack([self._past_predict(i, X, False)[0] for i in range(n_past)])
        loo = self._target_loo()
        for j in range(self.n_targets_):
            truth = Y[:, j][:, None] < Y[:, j][None, :]
            D = np.empty((n_past + 1, n, n))
            D[:-1] = (past[:, :, j, None] < past[:, None, :, j]) ^ truth
            # target: model without j predicts x_j below x_k?  loo[j][k, j] = mu_{-j}(x_k)
            M = loo[j]
            D[-1] = (np.diagonal(M)[:, None] < M.T) ^ truth
            losses = np.einsum("gjs,sj->gs", D @ counts.T, counts)  # (models, samples)
            W[j] = self._rank_weights(losses)
        return W

    def _rank_weights(self, losses: np.ndarray) -> np.ndarray:
        """Share of bootstrap samples each model wins (ties split), after dilution."""
        losses = losses.copy()
        target_cut = np.percentile(losses[-1], float(self.dilution_percentile))
        dropped = np.median(losses[:-1], axis=1) > target_cut
        losses[:-1][dropped] = np.inf
        wins = losses == losses.min(axis=0, keepdims=True)
        return (wins / wins.sum(axis=0, keepdims=True)).mean(axis=1)

    def _target_loo(self) -> list[np.ndarray]:
        """Per target, ``M[k, j] = mu_{-j}(x_k)``: the target GP without row ``j`` (same
        hyperparameters), on the standardised scale, in closed form from its Cholesky factor.

        With ``A = K + s2 I`` and ``alpha = A^-1 z``, removing row ``j`` is a rank-one
        downdate of ``A^-1``, which gives ``mu_{-j}(x_k) = mu_k - (K A^-1)_kj alpha_j /
        (A^-1)_jj`` with ``K A^-1 = I - s2 A^-1`` and ``mu = z - s2 alpha``.
        """
        out = []
        for model in self.target_model_.models_:
            L = np.asarray(model["L"])
            alpha = np.asarray(model["alpha"])
            A_inv = cho_solve((L, True), np.eye(len(L)))
            s2 = float((L[0] ** 2).sum() - model["amplitude"])  # the diagonal's noise part
            mu = L @ (L.T @ alpha) - s2 * alpha  # = K alpha, the fitted means
            KA_inv = np.eye(len(L)) - s2 * A_inv
            out.append(mu[:, None] - KA_inv * (alpha / np.diagonal(A_inv))[None, :])
        return out

    # ------------------------------------------------------------------ predict
    def _past_predict(
        self, i: int, X: np.ndarray, return_std: bool, x_key: str | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Past model ``i`` on ``X``: standardised ``(n, n_targets)`` mean (and std)."""
        key = None if x_key is None else _digest(self.past_keys_[i], x_key)
        hit = None if key is None else _PREDICTIONS.get(key)
        if hit is not None and (hit[1] is not None or not return_std):
            return hit
        out = self.past_models_[i].predict_standardized(X[:, self.past_columns_[i]], return_std)
        pair = out if return_std else (out, None)
        if key is not None:
            _PREDICTIONS.put(key, pair)
        return pair

    def predict_standardized(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Weighted mean (and std) on the standardised scale, always ``(n, n_targets)``."""
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        W = self.weights_
        mu = np.zeros((len(X), self.n_targets_))
        var = np.zeros_like(mu) if return_std else None
        x_key = _digest(X)
        for i in range(len(self.past_models_) + 1):
            if not (W[:, i] > 0).any():
                continue
            if i < len(self.past_models_):
                m, s = self._past_predict(i, X, return_std, x_key)
            else:
                out = self.target_model_.predict_standardized(X, return_std)
                m, s = out if return_std else (out, None)
            mu += W[:, i] * m
            if var is not None:
                var += W[:, i] ** 2 * s**2
        return (mu, np.sqrt(var)) if var is not None else mu

    def to_metric_scale(
        self, mu: np.ndarray, sd: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Standardised ``(n, n_targets)`` -> the target's metric scale (the target GP's
        transform); unchanged while the target has no rows."""
        check_is_fitted(self, "weights_")
        if self.target_model_ is None:
            return mu.copy(), None if sd is None else sd.copy()
        return self.target_model_.to_metric_scale(mu, sd)
