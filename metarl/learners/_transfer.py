"""Transfer from many past datasets at linear cost: a ranking-weighted GP ensemble (RGPE).

RGPE (Feurer, Letham, Hutter and Bakshy, 2018, "Scalable meta-learning for Bayesian
optimization using ranking-weighted Gaussian process ensembles") keeps one GP per past
dataset and one on the target dataset, and predicts their weighted sum. A model's weight is
the share of bootstrap samples of the target's observations on which it ranks them best
(fewest discordant pairs; the target's own GP is scored leave-one-out). Where the pooled GP
costs O((sum of past points)^3) at every round, here each past GP is conditioned once on at
most ``max_past_points`` points and cached, so a round costs one GP on the target's rows
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

By default (``stack=True``, ``target_hypers="past"``, chosen on HPOLib alone, see
docs/RESULTS.md) the target's GP does not compete with the past GPs: it models the target's
residual from their ranking-weighted ensemble (stacking, as Google Vizier's transfer), with
the past GPs' shared hyperparameters. ``stack=False, target_hypers="own"`` is the paper's
RGPE.

The past GPs (:mod:`metarl.learners._past_gps`: shared hyperparameters, conditioning,
process-wide caches, batched prediction) are fitted on each dataset's rank normal scores;
:func:`clear_transfer_cache` empties their caches.

Scales: the target GP fits the target's values with its own ``target_transform``,
standardised. The ensemble mean ``sum_i w_i mu_i`` is on that common standardised scale
(:meth:`RGPE.predict_standardized`, which acquisitions use); :meth:`RGPE.predict` maps it to
the target's metric scale through the target GP's transform (with no target rows, it stays
on the standardised normal-score scale). The std is ``sqrt(sum_i w_i^2 sd_i^2)``, the
combination of the paper's BoTorch implementation, or with ``past_std=False`` the target
GP's alone (``w_t sd_t``, as TST-R has it: a past GP's mean costs O(m) per config, its std
O(m^2)). Past GPs of weight 0 are not evaluated.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from scipy.linalg import cho_solve
from sklearn.utils.validation import check_is_fitted, validate_data

from metarl.learners import _past_gps
from metarl.learners._base import MetaLearner, StandardizedPredict, check_target_names
from metarl.learners._gp import GPLearner
from metarl.learners._past_gps import condition, fit_past, past_predictions, predict_units
from metarl.learners._torch import single_thread
from metarl.learners._transform import TargetTransform


def clear_transfer_cache() -> None:
    """Forget every cached hyperparameter, past GP and prediction (e.g. to time a first
    round)."""
    _past_gps.clear_caches()


#: ``stack``: the pseudo-observation that shrinks the ensemble's slope toward 1.
_SLOPE_PRIOR = 1.0


def _boot_losses(D: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``(models, samples)`` bootstrap-weighted counts of discordant pairs ``D`` (models,
    n, n), each sample a row of ``counts`` (how often each observation was drawn)."""
    counts = counts.astype(float)
    return np.einsum("gjs,sj->gs", D @ counts.T, counts)


def _wins(losses: np.ndarray) -> np.ndarray:
    """Share of samples (columns) each model (row) has the least loss in, ties split; a
    model with infinite losses (dropped) never wins, and none does if all are dropped."""
    finite = np.isfinite(losses)
    wins = finite & (losses == losses.min(axis=0, keepdims=True))
    share = wins / np.maximum(wins.sum(axis=0, keepdims=True), 1)
    return share.mean(axis=1)


class RGPE(StandardizedPredict, MetaLearner):
    """Ranking-weighted ensemble of one GP per past dataset and one on the target.

    See the module docstring for the ``fit(X, y, groups=..., target_group=...)`` contract
    and the scales, :mod:`~metarl.learners._past_gps`'s for the past GPs and the caching.
    The defaults of ``stack``, ``target_hypers`` and ``max_past_points`` were chosen on
    HPOLib alone (regret @10/@25, transfer protocol).

    Args:
        nu: Matern smoothness of every GP (see :class:`GPLearner`).
        n_restarts: extra optimiser starts of the target GP (refitted every round).
        max_past_points: a past dataset with more rows is subsampled (at random, the same
            rows for the same data) to this many for its GP: bounds each past GP's
            conditioning and each prediction whatever the history's size.
        hyper_points: past points, spread evenly over the past datasets (at most
            ``max_past_points`` each), on which the shared hyperparameters are fitted.
        share_hyperparameters: one set of hyperparameters for every past GP (True) or
            each past GP's own, fitted on its ``max_past_points`` rows (False: one fit per
            past dataset, the slower first round).
        past_std: whether the ensemble's std includes the past GPs' (the paper's) or only
            the target GP's (cheaper: no O(m^2) per config and past GP).
        stack: instead of competing with the past GPs for weight, the target GP models the
            target's residual from their ensemble (stacking, as Google Vizier's transfer):
            the past GPs are weighted among themselves by how they rank the target's
            results (one worse than its own negation gets weight 0), the ensemble is
            scaled to the target's standardised values by a least-squares slope (>= 0,
            shrunk toward 1 by one pseudo-observation) and intercept, and the target GP
            fits what is left. The past data thus keep shaping the prediction after the
            target GP has enough rows to rank them better than any past GP.
        target_hypers: ``"own"``: the target GP fits its hyperparameters on the target's
            rows; ``"past"``: it takes the past GPs' shared ones (needs
            ``share_hyperparameters``; with no past dataset, its own), fitted on far more
            points than the target's first few dozen.
        max_iter: L-BFGS iterations of a past hyperparameter fit.
        n_bootstrap: bootstrap samples of the target's observations for the weights.
        dilution_percentile: a past model whose median ranking loss exceeds this
            percentile of the target model's losses gets weight 0 ("weight dilution
            prevention": a bad sibling is not trusted). The paper uses 95; lower is
            stricter.
        target_transform: the target GP's transform (``"auto"``, ``"log"``, ``"rank"``,
            ``"none"``).
        random_state: seed of the bootstrap and of the target GP's starts. The past GPs'
            subsamples are seeded by a digest of their data, so that they are the same
            models, found in the cache, whatever the seed of the learner that asks for them.

    Fitted attributes: ``n_features_in_``, ``n_targets_``, ``target_names_``;
    ``past_groups_`` (labels), ``past_models_`` (a :data:`~._past_gps.GPDict` each),
    ``past_keys_`` (their cache keys), ``past_columns_`` (the features each uses),
    ``target_model_`` (a :class:`GPLearner`; ``None`` before the target's first row, with
    ``stack`` before its second, and with ``target_hypers="past"``, where ``target_fixed_``
    holds it as a ``GPDict``), ``transforms_`` (the target GP's transforms, where it is no
    :class:`GPLearner`), ``hypers_`` (the shared hyperparameters per target, or None),
    ``weights_`` (``(n_targets, n_past + 1)``, the target's last; rows sum to 1, with
    ``stack`` the past weights sum to 1 and the target's is 1, its residual added),
    ``prior_coef_`` (with ``stack``: ``(n_targets, 2)`` intercept and slope of the target's
    standardised values on the past ensemble), ``n_target_`` (target rows),
    ``n_past_fitted_`` and ``n_past_cached_`` (past GPs conditioned by this ``fit`` and
    found in the cache), ``hypers_cached_`` (whether the shared hyperparameters came from
    the cache).
    """

    def __init__(
        self,
        nu: float = 2.5,
        n_restarts: int = 2,
        max_past_points: int = 150,
        hyper_points: int = 1000,
        share_hyperparameters: bool = True,
        past_std: bool = True,
        stack: bool = True,
        target_hypers: str = "past",
        max_iter: int = 100,
        n_bootstrap: int = 256,
        dilution_percentile: float = 95.0,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.nu = nu
        self.n_restarts = n_restarts
        self.max_past_points = max_past_points
        self.hyper_points = hyper_points
        self.share_hyperparameters = share_hyperparameters
        self.past_std = past_std
        self.stack = stack
        self.target_hypers = target_hypers
        self.max_iter = max_iter
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

        past = [g for g in np.unique(groups[~is_target])]
        self.past_groups_ = [g.item() if isinstance(g, np.generic) else g for g in past]
        with single_thread():
            fitted = fit_past(
                [X[groups == g] for g in past], [Y[groups == g] for g in past], self.n_targets_,
                nu=self.nu, max_past_points=self.max_past_points, hyper_points=self.hyper_points,
                share_hyperparameters=self.share_hyperparameters, max_iter=self.max_iter,
            )  # fmt: skip
        self.past_models_, self.past_keys_, self.hypers_ = fitted[:3]
        self.hypers_cached_, self.n_past_fitted_, self.n_past_cached_ = fitted[3:]
        self.past_columns_ = [np.flatnonzero(m["inv_ls"][0] > 0) for m in self.past_models_]

        self.n_target_ = int(is_target.sum())
        self.target_model_ = self.target_fixed_ = self.transforms_ = None
        if self.stack and self.past_models_:  # (without past data: the plain target GP)
            self._fit_stacked(X[is_target], Y[is_target], int(seed))
            return self
        if self.n_target_ > 0:
            self._fit_target(X[is_target], Y[is_target], int(seed))
        self.weights_ = self._weights(X[is_target], Y[is_target], int(seed))
        return self

    def _fit_target(
        self, X: np.ndarray, Y: np.ndarray, seed: int, standardized: bool = False
    ) -> None:
        """The target GP on ``(X, Y)``: its own hyperparameters (a :class:`GPLearner`), or
        the past GPs' (``target_fixed_``). ``Y`` is the target's values, transformed and
        standardised here by ``target_transform``; with ``standardized`` (the stacked
        residual) it is already on the standardised scale and is taken as it is (a
        :class:`GPLearner` standardises it again, undone in :meth:`_target_predict`)."""
        if self.target_hypers == "own" or self.hypers_ is None:
            self.target_model_ = GPLearner(
                nu=self.nu, n_restarts=self.n_restarts, random_state=seed,
                target_transform="none" if standardized else self.target_transform,
            ).fit(X, Y, target_names=self.target_names_)  # fmt: skip
            return
        if not standardized:
            self.transforms_ = [
                TargetTransform(self.target_transform, name).fit(Y[:, j])
                for j, name in enumerate(self.target_names_)
            ]
            Y = np.stack([t.transform(Y[:, j]) for j, t in enumerate(self.transforms_)], axis=1)
        self.target_fixed_ = condition(X, Y, self.hypers_, float(self.nu))

    def _target_predict(
        self, X: np.ndarray, return_std: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The target (or, with ``stack``, residual) GP's ``(n, n_targets)`` mean and std on
        the scale it was fitted on (standardised)."""
        if self.target_fixed_ is not None:
            units = [(self.target_fixed_, j) for j in range(self.n_targets_)]
            mu, var = predict_units(units, X, float(self.nu), return_std)
            return mu.T, None if var is None else np.sqrt(var).T
        with single_thread():
            out = self.target_model_.predict_standardized(X, return_std)
        m, s = out if return_std else (out, None)
        if self.stack and self.past_models_:  # fitted without a transform: the residual's scale
            m, s = self.target_model_.to_metric_scale(m, s)
        return m, s

    def _check_params(self) -> None:
        if int(self.max_past_points) < 2 or int(self.hyper_points) < 2:
            raise ValueError("max_past_points and hyper_points must be >= 2")
        if self.target_hypers not in ("own", "past"):
            raise ValueError(f"target_hypers must be 'own' or 'past', got {self.target_hypers!r}")
        if self.target_hypers == "past" and not self.share_hyperparameters:
            raise ValueError("target_hypers='past' needs share_hyperparameters=True")
        if int(self.n_bootstrap) < 1 or int(self.max_iter) < 1:
            raise ValueError("n_bootstrap and max_iter must be >= 1")
        if not 0 <= float(self.dilution_percentile) <= 100:
            raise ValueError(
                f"dilution_percentile must be in [0, 100], got {self.dilution_percentile!r}"
            )

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
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=int(self.n_bootstrap))
        units = [(m, j) for m in self.past_models_ for j in range(self.n_targets_)]
        past = predict_units(units, X, float(self.nu), False)[0]
        past = past.reshape(n_past, self.n_targets_, n).transpose(0, 2, 1)  # (past, n, targets)
        loo = self._target_loo()
        for j in range(self.n_targets_):
            truth = Y[:, j][:, None] < Y[:, j][None, :]
            D = np.empty((n_past + 1, n, n))
            D[:-1] = (past[:, :, j, None] < past[:, None, :, j]) ^ truth
            # target: model without j predicts x_j below x_k?  loo[j][k, j] = mu_{-j}(x_k)
            M = loo[j]
            D[-1] = (np.diagonal(M)[:, None] < M.T) ^ truth
            W[j] = self._rank_weights(_boot_losses(D, counts))
        return W

    def _fit_stacked(self, X: np.ndarray, Y: np.ndarray, seed: int) -> None:
        """``stack``: past weights among the past GPs, the ensemble's affine map to the
        target's standardised values, and the target GP on the residual."""
        n_past, n, T = len(self.past_models_), len(Y), self.n_targets_
        W = np.zeros((T, n_past + 1))
        W[:, :-1] = 1.0 / max(n_past, 1)
        self.prior_coef_ = np.tile([0.0, 1.0 if n_past else 0.0], (T, 1))
        self.transforms_ = None
        self.weights_ = W
        if n < 2:  # nothing to rank or scale by yet: the past ensemble alone
            return
        self.transforms_ = [
            TargetTransform(self.target_transform, name).fit(Y[:, j])
            for j, name in enumerate(self.target_names_)
        ]
        Z = np.stack([t.transform(Y[:, j]) for j, t in enumerate(self.transforms_)], axis=1)
        R = Z.copy()
        if n_past:
            units = [(m, j) for m in self.past_models_ for j in range(T)]
            past = predict_units(units, X, float(self.nu), False)[0]
            past = past.reshape(n_past, T, n).transpose(0, 2, 1)  # (past, n, targets)
            rng = np.random.default_rng(seed)
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=int(self.n_bootstrap))
            for j in range(T):
                truth = Y[:, j][:, None] < Y[:, j][None, :]
                below = past[:, :, j, None] < past[:, None, :, j]
                above = past[:, :, j, None] > past[:, None, :, j]
                losses = _boot_losses(below ^ truth, counts)
                negated = _boot_losses(above ^ truth, counts)  # the reversed ranking's
                losses[np.median(losses - negated, axis=1) > 0] = np.inf  # worse than chance
                W[j, :-1] = _wins(losses)
                p = past[:, :, j].T @ W[j, :-1]
                dp, dz = p - p.mean(), Z[:, j] - Z[:, j].mean()
                # least squares shrunk toward slope 1 by one unit pseudo-observation: a
                # sibling ensemble that ranks well is trusted at its scale until the data
                # say otherwise; one that does not (slope <= 0) is dropped
                slope = max(0.0, float(dp @ dz + _SLOPE_PRIOR) / float(dp @ dp + _SLOPE_PRIOR))
                if not W[j, :-1].any():
                    slope = 0.0
                self.prior_coef_[j] = [Z[:, j].mean() - slope * p.mean(), slope]
                R[:, j] = Z[:, j] - self.prior_coef_[j, 0] - slope * p
        W[:, -1] = 1.0
        self._fit_target(X, R, seed, standardized=True)

    def _rank_weights(self, losses: np.ndarray) -> np.ndarray:
        """Share of bootstrap samples each model wins (ties split), after dilution."""
        losses = losses.copy()
        target_cut = np.percentile(losses[-1], float(self.dilution_percentile))
        dropped = np.median(losses[:-1], axis=1) > target_cut
        losses[:-1][dropped] = np.inf
        return _wins(losses)

    def _target_loo(self) -> list[np.ndarray]:
        """Per target, ``M[k, j] = mu_{-j}(x_k)``: the target GP without row ``j`` (same
        hyperparameters), on the standardised scale, in closed form from its Cholesky factor.

        With ``A = K + s2 I`` and ``alpha = A^-1 z``, removing row ``j`` is a rank-one
        downdate of ``A^-1``, which gives ``mu_{-j}(x_k) = mu_k - (K A^-1)_kj alpha_j /
        (A^-1)_jj`` with ``K A^-1 = I - s2 A^-1`` and ``mu = z - s2 alpha``.
        """
        out = []
        for j in range(self.n_targets_):
            if self.target_fixed_ is not None:
                L_inv = self.target_fixed_["L_inv"][j]
                alpha = self.target_fixed_["alpha"][j]
                A_inv = L_inv.T @ L_inv
                s2 = 1.0 / float(L_inv[0, 0]) ** 2 - float(self.target_fixed_["amplitude"][j])
                z = np.linalg.solve(A_inv, alpha)
            else:
                model = self.target_model_.models_[j]
                L = np.asarray(model["L"])
                alpha = np.asarray(model["alpha"])
                A_inv = cho_solve((L, True), np.eye(len(L)))
                s2 = float((L[0] ** 2).sum() - model["amplitude"])  # the diagonal's noise part
                z = L @ (L.T @ alpha)
            mu = z - s2 * alpha  # = K alpha, the fitted means
            KA_inv = np.eye(len(A_inv)) - s2 * A_inv
            out.append(mu[:, None] - KA_inv * (alpha / np.diagonal(A_inv))[None, :])
        return out

    # ------------------------------------------------------------------ predict
    def predict_standardized(
        self, X: np.ndarray, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Weighted mean (and std) on the standardised scale, always ``(n, n_targets)``."""
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        W = self.weights_
        n_past = len(self.past_models_)
        mu = np.zeros((len(X), self.n_targets_))
        var = np.zeros_like(mu) if return_std else None
        needed = [i for i in range(n_past) if (W[:, i] > 0).any()]
        past_var = return_std and bool(self.past_std)
        past = [(self.past_models_[i], self.past_keys_[i]) for i in needed]
        pairs = past_predictions(past, X, float(self.nu), self.n_targets_, past_var)
        for i, (m, v) in zip(needed, pairs):
            mu += W[:, i] * m
            if var is not None and past_var:  # (a cached v may be there all the same)
                var += W[:, i] ** 2 * v
        if self.stack and n_past:
            mu = self.prior_coef_[:, 0] + self.prior_coef_[:, 1] * mu
            if var is not None:
                var *= self.prior_coef_[:, 1] ** 2
            if self.target_model_ is not None or self.target_fixed_ is not None:  # the residual
                m, s = self._target_predict(X, return_std)
                mu += m
                if var is not None:
                    var += s**2
            return (mu, np.sqrt(var)) if var is not None else mu
        if (W[:, -1] > 0).any():
            m, s = self._target_predict(X, return_std)
            mu += W[:, -1] * m
            if var is not None:
                var += W[:, -1] ** 2 * s**2
        return (mu, np.sqrt(var)) if var is not None else mu

    def to_metric_scale(
        self, mu: np.ndarray, sd: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Standardised ``(n, n_targets)`` -> the target's metric scale (the target GP's
        transform); unchanged while the target has no rows."""
        check_is_fitted(self, "weights_")
        if self.transforms_ is not None:
            pairs = [
                t.inverse(mu[:, j], None if sd is None else sd[:, j])
                for j, t in enumerate(self.transforms_)
            ]
            mean = np.stack([m for m, _ in pairs], axis=1)
            return mean, None if sd is None else np.stack([s for _, s in pairs], axis=1)
        if self.target_model_ is None:
            return mu.copy(), None if sd is None else sd.copy()
        return self.target_model_.to_metric_scale(mu, sd)
