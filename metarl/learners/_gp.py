"""Exact Gaussian process regression with an ARD Matern kernel plus white noise (torch)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from metarl.learners._base import TransformedTargetLearner
from metarl.learners._torch import single_thread

_SQRT3, _SQRT5 = math.sqrt(3.0), math.sqrt(5.0)


def _matern(r: torch.Tensor, nu: float) -> torch.Tensor:
    if nu == 0.5:
        return torch.exp(-r)
    if nu == 1.5:
        return (1 + _SQRT3 * r) * torch.exp(-_SQRT3 * r)
    if nu == 2.5:
        return (1 + _SQRT5 * r + (5.0 / 3.0) * r * r) * torch.exp(-_SQRT5 * r)
    return torch.exp(-0.5 * r * r)  # nu = inf: squared exponential


def _matern_slope(r: torch.Tensor, nu: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel ``k(r)`` and ``k'(r) / r`` (what the length-scale gradient needs: finite
    at r = 0 for nu > 0.5); zero slope where :func:`_dist` clamped the distance, as the
    gradient of the clamp is."""
    if nu == 0.5:
        e = torch.exp(-r)
        k, slope = e, -e / r
    elif nu == 1.5:
        e = torch.exp(-_SQRT3 * r)
        k, slope = (1 + _SQRT3 * r) * e, -3.0 * e
    elif nu == 2.5:
        e = torch.exp(-_SQRT5 * r)
        k = (1 + _SQRT5 * r + (5.0 / 3.0) * r * r) * e
        slope = -(5.0 / 3.0) * (1 + _SQRT5 * r) * e
    else:
        k = torch.exp(-0.5 * r * r)
        slope = -k
    return k, torch.where(r > 1e-6, slope, 0.0)


def _matern_(r: torch.Tensor, nu: float) -> torch.Tensor:
    """:func:`_matern` computed in place on ``r``, in the same order (the same bits), with
    one temporary instead of five: prediction over a large grid is bound by memory passes."""
    if nu == 0.5:
        return r.neg_().exp_()
    if nu == math.inf:
        return torch.mul(r, -0.5).mul_(r).exp_()
    c = _SQRT3 if nu == 1.5 else _SQRT5
    e = torch.mul(r, -c).exp_()
    if nu == 1.5:
        return r.mul_(c).add_(1).mul_(e)
    sq = torch.mul(r, 5.0 / 3.0).mul_(r)
    return r.mul_(c).add_(1).add_(sq).mul_(e)


def _dist(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    # clamp: the gradient of sqrt at 0 (the diagonal) is infinite
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    return torch.sqrt(sq.clamp_min(1e-12))


def _dist_(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """:func:`_dist` in the same order (the same bits), with two temporaries instead of
    four."""
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :]
    return sq.sub_(2 * A @ B.T).clamp_min_(1e-12).sqrt_()


class _Prior(NamedTuple):
    """The parametrisation of a fit: ``p`` = log length scales (``n_ls``), log amplitude,
    log noise above ``floor``; and the centres of their weak log-normal priors."""

    n_ls: int
    mu0: float  # log length scales (sd sqrt 3)
    mu_noise: float  # log noise above the floor (sd 2); log amplitude: 0 (sd 2)
    floor: float

    def unpack(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = p.clamp(-12.0, 12.0)  # keeps every start's kernel numerically sane
        n_ls = self.n_ls
        return p[:n_ls].exp(), p[n_ls].exp(), self.floor + p[n_ls + 1].exp()


def _neg_log_posterior(
    p: torch.Tensor, X: torch.Tensor, z: torch.Tensor, nu: float, prior: _Prior
) -> tuple[torch.Tensor, torch.Tensor]:
    """The negative log posterior per point of the parameters ``p`` and its gradient, in
    closed form: autograd through the Cholesky cost more than the whole forward pass."""
    n, n_ls = len(z), prior.n_ls
    inside = (p >= -12.0) & (p <= 12.0)  # the clamp's gradient
    ls, amp, noise = prior.unpack(p)
    Xs = X / ls
    k, slope = _matern_slope(_dist(Xs, Xs), nu)
    K = amp * k + (noise + 1e-8 * amp) * torch.eye(n, dtype=X.dtype)
    L = torch.linalg.cholesky(K)
    a = torch.cholesky_solve(z[:, None], L)[:, 0]
    nll = 0.5 * z @ a + torch.log(torch.diagonal(L)).sum()
    G = 0.5 * (torch.cholesky_inverse(L) - torch.outer(a, a))  # d nll / d K
    # d K_ij / d log ls_k = -amp * k'(r)/r * (xs_ik - xs_jk)^2, summed against G:
    # sum_ij W_ij (xs_ik - xs_jk)^2 = 2 (xs_k^2 . W 1 - xs_k . W xs_k), W symmetric
    W = G * slope * amp
    g_ls = -2.0 * ((Xs * Xs).T @ W.sum(1) - (Xs * (W @ Xs)).sum(0))
    trace = torch.diagonal(G).sum()
    grad = torch.empty_like(p)
    grad[:n_ls] = g_ls if n_ls == X.shape[1] else g_ls.sum()
    grad[n_ls] = amp * ((G * k).sum() + 1e-8 * trace)
    grad[n_ls + 1] = (noise - prior.floor) * trace
    sd = torch.full_like(p, 2.0)
    sd[:n_ls] = math.sqrt(3.0)
    centre = torch.zeros_like(p)
    centre[:n_ls], centre[n_ls + 1] = prior.mu0, prior.mu_noise
    u = (p - centre) / sd
    return (nll + 0.5 * (u * u).sum()) / n, (grad * inside + u / sd) / n


class GPLearner(TransformedTargetLearner):
    """Gaussian process for encoded configs: ``amp * Matern(nu, ARD) + noise``.

    On the space's encoding (one-hot categoricals, ordinals and numbers scaled to [0, 1]) a
    length scale per feature lets the GP ignore irrelevant features and weigh each choice;
    the white noise absorbs seed-to-seed noise. Hyperparameters are the maximum a
    posteriori of the marginal likelihood (torch L-BFGS from ``n_restarts + 1`` starts)
    under a weak log-normal prior on the length scales centred on ``sqrt(d)`` (the
    dimension-scaled prior of Hvarfner et al., 2024, also BoTorch's default), which keeps
    the fit sensible with a few dozen points. Exact inference costs O(n^3) in the training
    points: meant for tens to a few thousand points. Prediction is a batched matmul.

    Args:
        nu: Matern smoothness: 0.5, 1.5, 2.5, or ``float("inf")`` (squared exponential).
        ard: one length scale per feature (True) or a single shared one.
        n_restarts: extra random starts of the optimiser.
        max_iter: L-BFGS iterations per start.
        noise_floor: smallest noise variance (targets are standardised).
        noise_prior: centre of the weak log-normal prior on the noise variance above the
            floor (standardised targets; the prior's log-sd is 2). The default, e^-4 ~ 0.018,
            expects nearly noise-free results; a larger one expects noisier results.
        predict_noise: whether the predicted std includes the noise (the std of a new
            observation, the default) or not (the std of the latent mean: an acquisition
            then explores where the model is unsure, not where results are noisy).
        target_transform: ``"auto"``, ``"log"``, ``"rank"`` or ``"none"``.
        random_state: seed of the random starts.

    Fitted per target (``models_``): a dict of numpy arrays (training inputs divided by the
    length scales, Cholesky factor, weights, amplitude, noise, length scales).
    """

    _chunk_rows = 4096

    def __init__(
        self,
        nu: float = 2.5,
        ard: bool = True,
        n_restarts: int = 2,
        max_iter: int = 100,
        noise_floor: float = 1e-4,
        noise_prior: float = math.exp(-4.0),
        predict_noise: bool = True,
        target_transform: str = "auto",
        random_state: int | None = None,
    ) -> None:
        self.nu = nu
        self.ard = ard
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.noise_floor = noise_floor
        self.noise_prior = noise_prior
        self.predict_noise = predict_noise
        self.target_transform = target_transform
        self.random_state = random_state

    def _check(self) -> None:
        if self.nu not in (0.5, 1.5, 2.5, float("inf")):
            raise ValueError(f"nu must be 0.5, 1.5, 2.5 or inf, got {self.nu!r}")
        if int(self.n_restarts) < 0 or int(self.max_iter) < 1:
            raise ValueError("n_restarts must be >= 0 and max_iter >= 1")
        if not (isinstance(self.noise_prior, (int, float)) and 0 < self.noise_prior < math.inf):
            raise ValueError(f"noise_prior must be a positive number, got {self.noise_prior!r}")

    def _fit_target(self, X: np.ndarray, z: np.ndarray, seed: int) -> dict[str, np.ndarray]:
        self._check()
        with single_thread(len(z) <= 2000):
            return self._fit(X, z, seed)

    def _fit(self, X: np.ndarray, z: np.ndarray, seed: int) -> dict[str, np.ndarray]:
        # A kernel matrix can lose positive definiteness (duplicate rows, a line search
        # wandering to extreme hyperparameters); raise the noise floor rather than fail.
        for floor in (float(self.noise_floor), 1e-2, 1e-1):
            fitted = self._fit_with_floor(X, z, seed, floor)
            if fitted is not None:
                return fitted
        raise RuntimeError(
            "GP fit failed from every start, even with noise floor 0.1 (kernel matrix not "
            "positive definite): are there NaN or constant features?"
        )

    def _fit_with_floor(
        self, X: np.ndarray, z: np.ndarray, seed: int, floor: float
    ) -> dict[str, np.ndarray] | None:
        Xt = torch.tensor(np.asarray(X, dtype=np.float64))
        zt = torch.tensor(np.asarray(z, dtype=np.float64))
        n, d = Xt.shape
        n_ls = d if self.ard else 1
        mu0 = math.sqrt(2.0) + 0.5 * math.log(max(d, 1))  # prior mean of log length scale
        mu_noise = math.log(self.noise_prior)  # prior mean of log noise (above the floor)
        prior = _Prior(n_ls, mu0, mu_noise, floor)
        gen = torch.Generator().manual_seed(seed)

        def loss_and_grad(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return _neg_log_posterior(p, Xt, zt, self.nu, prior)

        best, best_loss, n_iter = None, math.inf, 0
        for r in range(int(self.n_restarts) + 1):
            init = torch.empty(n_ls + 2, dtype=torch.float64)
            init[:n_ls] = mu0 - 0.5
            init[n_ls], init[n_ls + 1] = 0.0, math.log(0.05)
            if r > 0:
                init = init + torch.randn(n_ls + 2, generator=gen, dtype=torch.float64)
            p = init.clone().requires_grad_()
            opt = torch.optim.LBFGS(
                [p], lr=1.0, max_iter=int(self.max_iter), line_search_fn="strong_wolfe"
            )

            def closure(p=p):
                loss, p.grad = loss_and_grad(p.detach())
                return loss

            try:
                with torch.no_grad():
                    opt.step(closure)
                    loss = float(loss_and_grad(p.detach())[0])
            except (RuntimeError, torch.linalg.LinAlgError):  # non-PD kernel: a bad start
                continue
            if math.isfinite(loss) and loss < best_loss:
                best, best_loss = p.detach().clone(), loss
                n_iter = int(opt.state[opt._params[0]].get("n_iter", 0))
        if best is None:
            return None
        with torch.no_grad():
            ls, amp, noise = prior.unpack(best)
            Xs = Xt / ls
            K = amp * _matern(_dist(Xs, Xs), self.nu) + (noise + 1e-8 * amp) * torch.eye(
                n, dtype=torch.float64
            )
            L, info = torch.linalg.cholesky_ex(K)
            if int(info) != 0:
                return None
            alpha = torch.cholesky_solve(zt[:, None], L)[:, 0]
        return {
            "X_scaled": Xs.numpy(),
            "L": L.numpy(),
            "alpha": alpha.numpy(),
            "length_scale": (ls.expand(d) if not self.ard else ls).numpy().copy(),
            "amplitude": np.float64(amp),
            "noise": np.float64(noise),
            "n_iter": np.int64(n_iter),
        }

    @property
    def n_iter_(self) -> int:
        """L-BFGS iterations of the best start (the largest over targets)."""
        check_is_fitted(self, "models_")
        return max(int(m["n_iter"]) for m in self.models_)

    def _predict_target(self, model: dict[str, np.ndarray], X: np.ndarray, return_std: bool):
        # called on chunks of _chunk_rows rows (a grid of 62,208 configs: 16 chunks): the
        # (rows x n) kernel of a chunk stays in cache; on one thread up to the size the fit
        # runs on one (threads cost more than they save there, badly on a loaded machine)
        with single_thread(len(model["alpha"]) <= 2000):
            Xs = torch.as_tensor(np.asarray(X, dtype=np.float64)) / torch.as_tensor(
                model["length_scale"]
            )
            Xtr = torch.as_tensor(model["X_scaled"])
            Ks = _matern_(_dist_(Xs, Xtr), self.nu).mul_(float(model["amplitude"]))
            mean = (Ks @ torch.as_tensor(model["alpha"])).numpy()
            if not return_std:
                return mean, None
            v = torch.linalg.solve_triangular(torch.as_tensor(model["L"]), Ks.T, upper=False)
            noise = float(model["noise"]) if self.predict_noise else 0.0
            var = float(model["amplitude"]) + noise - (v * v).sum(0)
        return mean, np.sqrt(np.clip(var.numpy(), 0.0, None))
