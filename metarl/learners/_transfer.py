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

Past GPs: by default they share one set of hyperparameters (ARD length scales, amplitude,
noise), the maximum a posteriori of the sum of their marginal likelihoods, each dataset an
independent GP, fitted on at most ``hyper_points`` past points spread over the datasets
(the datasets of one space weigh its parameters alike; one small batched fit replaces one
fit per dataset, the first round's cost). Each past GP is then conditioned on its own
``max_past_points`` points with them (one Cholesky factor). ``share_hyperparameters=False``
fits each dataset's own instead.

Scales: each past GP is fitted on its dataset's rank normal scores (values of different
datasets are not comparable, their ranks are; a caller that already applied
:func:`~metarl.learners.group_normal_scores` gets the same scores back), standardised. The
target GP fits the target's values with its own ``target_transform``, standardised. The
ensemble mean ``sum_i w_i mu_i`` is on that common standardised scale
(:meth:`RGPE.predict_standardized`, which acquisitions use); :meth:`RGPE.predict` maps it to
the target's metric scale through the target GP's transform (with no target rows, it stays
on the standardised normal-score scale). The std is ``sqrt(sum_i w_i^2 sd_i^2)``, the
combination of the paper's BoTorch implementation, or with ``past_std=False`` the target
GP's alone (``w_t sd_t``, as TST-R has it: a past GP's mean costs O(m) per config, its std
O(m^2)).

A past GP ignores the features that are constant on its own data: the dataset's context
columns, which differ at prediction time (the target's context) and would otherwise
shrink its predictions by an amount it never learned.

Prediction: every weighted past GP in one batched torch pass over chunks of rows; past GPs
of weight 0 are not evaluated.

Caching: the shared hyperparameters and the conditioned past GPs live in process-wide LRU
caches keyed by a digest of the datasets' data and the settings, so a new learner every
round (as the comparison builds) refits none of them. Each past GP's predictions on a given
``X`` (the same enumerated table every round under the ``exhaustive`` policy) are cached
too. :func:`clear_transfer_cache` empties all three.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import torch
from scipy.linalg import cho_solve
from scipy.special import ndtri
from scipy.stats import rankdata
from sklearn.utils.validation import check_is_fitted, validate_data

from metarl.learners._base import MetaLearner, StandardizedPredict, check_target_names
from metarl.learners._gp import GPLearner, _matern
from metarl.learners._torch import single_thread
from metarl.learners._transform import TargetTransform


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


def _nbytes(value: Any) -> float:
    if isinstance(value, dict):
        value = list(value.values())
    return sum(a.nbytes for a in value if isinstance(a, np.ndarray))


#: Shared hyperparameters of a set of past datasets.
_HYPERS = _LRU(64, lambda _: 1)
#: Conditioned past GPs (``max_past_points`` rows each: ~0.2 MB apiece at 150), by bytes.
_MODELS = _LRU(512 * 2**20, _nbytes)
#: Past GPs' predictions on a given X, bounded by their bytes.
_PREDICTIONS = _LRU(512 * 2**20, _nbytes)


def clear_transfer_cache() -> None:
    """Forget every cached hyperparameter, past GP and prediction (e.g. to time a first
    round)."""
    _HYPERS.clear()
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


def _standardize(z: np.ndarray) -> np.ndarray:
    sd = z.std()
    return (z - z.mean()) / (sd if sd > 1e-12 else 1.0)


def _bdist(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Batched Euclidean distances ``(..., n, m)``, clamped off 0 (sqrt's gradient)."""
    sq = (A * A).sum(-1)[..., :, None] + (B * B).sum(-1)[..., None, :] - 2 * A @ B.transpose(-1, -2)
    return torch.sqrt(sq.clamp_min(1e-12))


#: The GP's priors (:class:`GPLearner`'s): length scales log-normal around sqrt(d), log-sd
#: sqrt(3); amplitude log-normal around 1, log-sd 2; noise above the floor log-normal around
#: e^-4, log-sd 2.
_NOISE_FLOOR, _NOISE_PRIOR = 1e-4, math.exp(-4.0)


def _fit_hypers(
    Xs: list[np.ndarray], zs: list[np.ndarray], nu: float, max_iter: int
) -> tuple[np.ndarray, float, float]:
    """MAP ``(length scales (d,), amplitude, noise)`` shared by independent GPs, one per
    dataset ``(X, z)`` (``z`` standardised): a batched marginal likelihood, the datasets
    padded to one size (a padded row is its own unit-variance block with target 0, which
    adds nothing to the likelihood)."""
    G, m, d = len(Xs), max(len(z) for z in zs), Xs[0].shape[1]
    X = torch.zeros(G, m, d, dtype=torch.float64)
    z = torch.zeros(G, m, dtype=torch.float64)
    mask = torch.zeros(G, m, dtype=torch.float64)
    for g, (Xg, zg) in enumerate(zip(Xs, zs)):
        X[g, : len(zg)] = torch.as_tensor(Xg, dtype=torch.float64)
        z[g, : len(zg)] = torch.as_tensor(zg)
        mask[g, : len(zg)] = 1.0
    outer = mask[:, :, None] * mask[:, None, :]
    n = float(mask.sum())
    mu0 = math.sqrt(2.0) + 0.5 * math.log(max(d, 1))
    mu_noise = math.log(_NOISE_PRIOR)

    for floor in (_NOISE_FLOOR, 1e-2, 1e-1):  # a non-PD kernel: raise the floor, as the GP does

        def unpack(p: torch.Tensor, floor: float = floor):
            p = p.clamp(-12.0, 12.0)
            return p[:d].exp(), p[d].exp(), floor + p[d + 1].exp()

        def loss_fn(p: torch.Tensor, unpack=unpack) -> torch.Tensor:
            ls, amp, noise = unpack(p)
            A = X / ls
            diag = (noise + 1e-8 * amp) * mask + (1.0 - mask)
            K = amp * _matern(_bdist(A, A), nu) * outer + torch.diag_embed(diag)
            L = torch.linalg.cholesky(K)
            a = torch.cholesky_solve(z[..., None], L)[..., 0]
            nll = 0.5 * (z * a).sum() + torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum()
            log_prior = -0.5 * (((p[:d] - mu0) / math.sqrt(3.0)) ** 2).sum()
            log_prior = log_prior - 0.5 * (p[d] / 2.0) ** 2
            log_prior = log_prior - 0.5 * ((p[d + 1] - mu_noise) / 2.0) ** 2
            return (nll - log_prior) / n

        p = torch.empty(d + 2, dtype=torch.float64)
        p[:d], p[d], p[d + 1] = mu0 - 0.5, 0.0, math.log(0.05)
        p.requires_grad_()
        opt = torch.optim.LBFGS([p], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure(p=p, opt=opt, loss_fn=loss_fn):
            opt.zero_grad()
            loss = loss_fn(p)
            loss.backward()
            return loss

        try:
            opt.step(closure)
            with torch.no_grad():
                ok = math.isfinite(float(loss_fn(p)))
        except (RuntimeError, torch.linalg.LinAlgError):
            ok = False
        if ok:
            with torch.no_grad():
                ls, amp, noise = unpack(p.detach())
            return ls.numpy().copy(), float(amp), float(noise)
    raise RuntimeError(
        "RGPE: the past GPs' hyperparameter fit failed even with noise floor 0.1 (kernel "
        "matrix not positive definite): are there NaN or constant features?"
    )


def _condition(
    X: np.ndarray, z: np.ndarray, inv_ls: np.ndarray, amp: float, noise: float, nu: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(alpha, L^-1)`` of a GP with these hyperparameters on ``(X, z)``."""
    A = torch.as_tensor(X * inv_ls, dtype=torch.float64)
    K = amp * _matern(_bdist(A, A), nu)
    eye = torch.eye(len(z), dtype=torch.float64)
    for jitter in (0.0, 1e-6, 1e-4, 1e-2):
        L, info = torch.linalg.cholesky_ex(K + (noise + 1e-8 * amp + jitter * amp) * eye)
        if int(info) == 0:
            break
    else:
        raise RuntimeError("RGPE: a past GP's kernel matrix is not positive definite")
    L_inv = torch.linalg.solve_triangular(L, eye, upper=False)
    alpha = L_inv.T @ (L_inv @ torch.as_tensor(z, dtype=torch.float64))
    return alpha.numpy(), L_inv.numpy()


def _kernel_(D2: torch.Tensor, nu: float) -> torch.Tensor:
    """Matern correlation of squared distances ``D2``, computed in place (no autograd): a
    prediction's cost is this elementwise pass over ``(models, rows, points)``."""
    r = D2.clamp_(min=0.0).sqrt_()
    if nu not in (1.5, 2.5):
        return _matern(r, nu)
    s = r.mul_(math.sqrt(5.0) if nu == 2.5 else math.sqrt(3.0))
    poly = s / 3.0 + 1.0 if nu == 2.5 else torch.ones_like(s)
    poly.mul_(s).add_(1.0)  # 1 + s + s^2 / 3  (nu 2.5)  or  1 + s  (nu 1.5)
    return poly.mul_(s.neg_().exp_())


def _predict_units(
    units: list[tuple[dict[str, np.ndarray], int]],
    X: np.ndarray,
    nu: float,
    return_std: bool,
    max_elements: int = 1 << 20,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Standardised means ``(U, n)`` (and variances) of past GPs ``(model, target)`` on
    ``X``, all of them in one batched pass over chunks of rows (each model padded to the
    largest's points with zero weights).

    In float32 on one thread: measured 3-4x faster than float64 and many times faster than
    torch's threads on a shared machine; the GP's own fit and ``alpha`` stay float64.
    """
    U, n = len(units), len(X)
    m = max(len(model["X"]) for model, _ in units)
    d = X.shape[1]
    f32 = torch.float32
    T = torch.zeros(U, m, d, dtype=f32)
    alpha = torch.zeros(U, m, 1, dtype=f32)  # amplitude folded in
    inv = torch.zeros(U, 1, d, dtype=f32)
    L_inv_t = torch.zeros(U, m, m, dtype=f32) if return_std else None
    amp = np.zeros((U, 1))
    prior = np.zeros((U, 1))
    for u, (model, j) in enumerate(units):
        k = len(model["X"])
        a = float(model["amplitude"][j])
        inv[u, 0] = torch.as_tensor(model["inv_ls"][j])
        T[u, :k] = torch.as_tensor(model["X"] * model["inv_ls"][j])
        alpha[u, :k, 0] = torch.as_tensor(a * model["alpha"][j])
        amp[u], prior[u] = a, a + float(model["noise"][j])
        if L_inv_t is not None:
            L_inv_t[u, :k, :k] = torch.as_tensor(a * model["L_inv"][j]).T
    T_sq = (T * T).sum(-1)[:, None, :]
    mu = np.empty((U, n))
    var = np.empty((U, n)) if return_std else None
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    step = max(1, max_elements // (U * m))
    with torch.no_grad(), single_thread():
        for s in range(0, n, step):
            A = Xt[s : s + step][None] * inv
            D2 = torch.baddbmm(T_sq + (A * A).sum(-1)[..., None], A, T.transpose(-1, -2), alpha=-2)
            K = _kernel_(D2, nu)  # correlation; the amplitude is in alpha and L_inv
            mu[:, s : s + step] = (K @ alpha)[..., 0].numpy()
            if var is not None:
                v = K @ L_inv_t
                var[:, s : s + step] = prior - (v * v).sum(-1).numpy()
    if var is not None:
        np.clip(var, 1e-12, None, out=var)
    return mu, var


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

    See the module docstring for the ``fit(X, y, groups=..., target_group=...)`` contract,
    the shared hyperparameters, the scales and the caching. The defaults of ``stack``,
    ``target_hypers`` and ``max_past_points`` were chosen on HPOLib alone (regret @10/@25,
    transfer protocol).

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
    ``past_groups_`` (labels), ``past_models_`` (a dict of arrays each: its training
    inputs ``X``, and per target ``inv_ls`` (inverse length scales, 0 on the features it
    ignores), ``alpha``, ``L_inv`` (inverse Cholesky factor), ``amplitude``, ``noise``),
    ``past_columns_`` (the features each uses), ``target_model_`` (a :class:`GPLearner`;
    ``None`` before the target's first row, with ``stack`` before its second, and with
    ``target_hypers="past"``, where ``target_fixed_`` holds it as a past GP's dict and
    ``transforms_`` its targets' transforms), ``hypers_`` (the shared hyperparameters per
    target, or None),
    ``weights_`` (``(n_targets, n_past + 1)``, the target's last; rows sum to 1, with
    ``stack`` the past weights sum to 1 and the target's is 1, its residual added),
    ``prior_coef_`` (with ``stack``: ``(n_targets, 2)`` intercept and slope of the target's
    standardised values on the past ensemble), ``n_target_`` (target rows),
    ``n_past_fitted_`` and
    ``n_past_cached_`` (past GPs conditioned by this ``fit`` and found in the cache),
    ``hypers_cached_`` (whether the shared hyperparameters came from the cache).
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
            self._fit_past([X[groups == g] for g in past], [Y[groups == g] for g in past])

        self.n_target_ = int(is_target.sum())
        self.target_model_ = self.target_fixed_ = self.transforms_ = None
        if self.stack and self.past_models_:  # (without past data: the plain target GP)
            self._fit_stacked(X[is_target], Y[is_target], int(seed))
            return self
        if self.n_target_ > 0:
            self._fit_target(X[is_target], Y[is_target], int(seed), self.target_transform)
        self.weights_ = self._weights(X[is_target], Y[is_target], int(seed))
        return self

    def _fit_target(self, X: np.ndarray, Y: np.ndarray, seed: int, transform: str) -> None:
        """The target GP on ``(X, Y)``: its own hyperparameters (a :class:`GPLearner` with
        ``transform``), or the past GPs' (``target_fixed_``, after ``transforms_``)."""
        if self.target_hypers == "own" or self.hypers_ is None:
            self.target_model_ = GPLearner(
                nu=self.nu, n_restarts=self.n_restarts, target_transform=transform,
                random_state=seed,
            ).fit(X, Y, target_names=self.target_names_)  # fmt: skip
            return
        if transform != "none":
            self.transforms_ = [
                TargetTransform(transform, name).fit(Y[:, j])
                for j, name in enumerate(self.target_names_)
            ]
            Y = np.stack([t.transform(Y[:, j]) for j, t in enumerate(self.transforms_)], axis=1)
        X = np.asarray(X, dtype=np.float64)
        out: dict[str, list] = {k: [] for k in ("inv_ls", "alpha", "L_inv", "amplitude", "noise")}
        for j, (ls, amp, noise) in enumerate(self.hypers_):
            inv_ls = 1.0 / ls
            alpha, L_inv = _condition(X, Y[:, j], inv_ls, amp, noise, float(self.nu))
            for name, value in zip(out, (inv_ls, alpha, L_inv, amp, noise)):
                out[name].append(value)
        self.target_fixed_ = {"X": X, **{k: np.asarray(v, np.float64) for k, v in out.items()}}

    def _target_predict(
        self, X: np.ndarray, return_std: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The target (or, with ``stack``, residual) GP's ``(n, n_targets)`` mean and std on
        the scale it was fitted on (standardised)."""
        if self.target_fixed_ is not None:
            units = [(self.target_fixed_, j) for j in range(self.n_targets_)]
            mu, var = _predict_units(units, X, float(self.nu), return_std)
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

    def _fit_past(self, Xs: list[np.ndarray], Ys: list[np.ndarray]) -> None:
        """Condition (or fetch from the cache) the GP of each past dataset."""
        # quantiles on the full dataset (the best estimate of each point's), then a subsample
        # seeded by the data alone, not random_state: a caller that reseeds the learner every
        # round (the refinement round does) must still find last round's models
        Zs = [_normal_scores(Y) for Y in Ys]
        keys = [_digest(X, Z) for X, Z in zip(Xs, Zs)]
        perms = [
            np.random.default_rng(int(k[:8], 16)).permutation(len(Z)) for k, Z in zip(keys, Zs)
        ]
        cap = int(self.max_past_points)
        rows = [np.sort(p[:cap]) for p in perms]
        settings = (float(self.nu), cap, int(self.max_iter))
        hypers = None
        self.hypers_cached_ = False
        self.hypers_ = None
        if self.share_hyperparameters and Xs:
            per = min(cap, max(int(self.hyper_points) // len(Xs), 2))
            hyper_key = _digest(keys, settings, int(self.hyper_points))
            hypers = _HYPERS.get(hyper_key)
            self.hypers_cached_ = hypers is not None
            if hypers is None:
                hypers = [
                    _fit_hypers(
                        [X[p[:per]] for X, p in zip(Xs, perms)],
                        [_standardize(Z[p[:per], j]) for Z, p in zip(Zs, perms)],
                        float(self.nu),
                        int(self.max_iter),
                    )
                    for j in range(self.n_targets_)
                ]
                _HYPERS.put(hyper_key, hypers)
            self.hypers_ = hypers
            settings = (*settings, hyper_key)
        self.past_models_, self.past_columns_, self.past_keys_ = [], [], []
        self.n_past_fitted_ = self.n_past_cached_ = 0
        for X, Z, r, data_key in zip(Xs, Zs, rows, keys):
            key = _digest(data_key, settings)
            model = _MODELS.get(key)
            if model is None:
                model = self._condition_past(X[r], Z[r], hypers)
                _MODELS.put(key, model)
                self.n_past_fitted_ += 1
            else:
                self.n_past_cached_ += 1
            self.past_models_.append(model)
            self.past_columns_.append(np.flatnonzero(model["inv_ls"][0] > 0))
            self.past_keys_.append(key)

    def _condition_past(
        self, X: np.ndarray, Z: np.ndarray, hypers: list[tuple] | None
    ) -> dict[str, np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        used = np.ptp(X, axis=0) > 0
        if not used.any():  # a single distinct config: nothing to learn from its features
            used[:] = True
        out: dict[str, list] = {
            "inv_ls": [],
            "alpha": [],
            "L_inv": [],
            "amplitude": [],
            "noise": [],
        }
        for j in range(Z.shape[1]):
            z = _standardize(Z[:, j])
            if hypers is None:  # its own, on its own rows
                ls_used, amp, noise = _fit_hypers(
                    [X[:, used]], [z], float(self.nu), int(self.max_iter)
                )
                ls = np.ones(X.shape[1])
                ls[used] = ls_used
            else:
                ls, amp, noise = hypers[j]
            inv_ls = np.where(used, 1.0 / ls, 0.0)
            alpha, L_inv = _condition(X, z, inv_ls, amp, noise, float(self.nu))
            for name, value in zip(out, (inv_ls, alpha, L_inv, amp, noise)):
                out[name].append(value)
        return {"X": X, **{k: np.asarray(v, dtype=np.float64) for k, v in out.items()}}

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
        past = _predict_units(units, X, float(self.nu), False)[0]
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
            past = _predict_units(units, X, float(self.nu), False)[0]
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
        self._fit_target(X, R, seed, "none")

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
    def _past_predictions(
        self, needed: list[int], X: np.ndarray, return_std: bool
    ) -> dict[int, tuple[np.ndarray, np.ndarray | None]]:
        """Past model ``i`` -> its standardised ``(n, n_targets)`` mean (and variance) on
        ``X``, for each ``i`` in ``needed``: from the cache, the rest in one batched pass."""
        x_key = _digest(X)
        out, missing = {}, []
        for i in needed:
            hit = _PREDICTIONS.get(_digest(self.past_keys_[i], x_key))
            if hit is not None and (hit[1] is not None or not return_std):
                out[i] = hit
            else:
                missing.append(i)
        if missing:
            T = self.n_targets_
            units = [(self.past_models_[i], j) for i in missing for j in range(T)]
            mu, var = _predict_units(units, X, float(self.nu), return_std)
            for k, i in enumerate(missing):
                pair = (
                    mu[k * T : (k + 1) * T].T.copy(),
                    None if var is None else var[k * T : (k + 1) * T].T.copy(),
                )
                _PREDICTIONS.put(_digest(self.past_keys_[i], x_key), pair)
                out[i] = pair
        return out

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
        for i, (m, v) in self._past_predictions(needed, X, past_var).items():
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
