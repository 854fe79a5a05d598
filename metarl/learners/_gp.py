"""Exact Gaussian process regression with an ARD Matern kernel plus white noise (torch)."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
from scipy.linalg import lapack
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

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


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def _one_blas_thread(enabled: bool = True) -> Iterator[None]:
    """numpy's and scipy's BLAS on one thread inside the block, as :func:`single_thread`
    does for torch: the fit's small matrix products and Cholesky factors lose more to
    thread hand-offs (and to spinning threads on a loaded machine) than they gain."""
    if not enabled:
        yield
        return
    with _blas().limit(limits=1, user_api="blas"):
        yield


class _Objective:
    """The negative log posterior per point of the GP's parameters and its gradient, in
    closed form (autograd through the Cholesky cost more than the whole forward pass), in
    numpy (float64) for one fit, with the constants of
    the fit built once: the fit's optimiser calls it some 100 times a start on tens of
    points, where torch's per-op overhead, not arithmetic, was most of the time."""

    def __init__(self, X: np.ndarray, z: np.ndarray, nu: float, prior: _Prior) -> None:
        n_ls = prior.n_ls
        self.X, self.z, self.nu, self.prior = X, z, nu, prior
        self.eye = np.eye(len(z))
        self.sd = np.full(n_ls + 2, 2.0)
        self.sd[:n_ls] = math.sqrt(3.0)
        self.centre = np.zeros(n_ls + 2)
        self.centre[:n_ls], self.centre[n_ls + 1] = prior.mu0, prior.mu_noise

    def __call__(self, p: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss and its gradient at ``p``; LinAlgError where the kernel matrix is not
        positive definite (as torch's Cholesky raises)."""
        X, z, nu, prior = self.X, self.z, self.nu, self.prior
        n, n_ls = len(z), prior.n_ls
        inside = (p >= -12.0) & (p <= 12.0)  # the clamp's gradient
        q = np.clip(p, -12.0, 12.0)
        ls = np.exp(q[:n_ls])
        amp, noise = math.exp(q[n_ls]), prior.floor + math.exp(q[n_ls + 1])
        Xs = X / ls
        s = (Xs * Xs).sum(1)
        r = np.sqrt(np.maximum(s[:, None] + s[None, :] - 2.0 * (Xs @ Xs.T), 1e-12))
        if nu == 0.5:
            k = np.exp(-r)
            slope = -k / r
        elif nu == 1.5:
            e = np.exp(-_SQRT3 * r)
            k, slope = (1 + _SQRT3 * r) * e, -3.0 * e
        elif nu == 2.5:
            e = np.exp(-_SQRT5 * r)
            k = (1 + _SQRT5 * r + (5.0 / 3.0) * r * r) * e
            slope = -(5.0 / 3.0) * (1 + _SQRT5 * r) * e
        else:
            k = np.exp(-0.5 * r * r)
            slope = -k
        slope = np.where(r > 1e-6, slope, 0.0)
        K = amp * k + (noise + 1e-8 * amp) * self.eye
        L, info = lapack.dpotrf(K, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("kernel matrix not positive definite")
        a, _ = lapack.dpotrs(L, z, lower=1)
        Kinv, _ = lapack.dpotri(L, lower=1)  # lower triangle only
        Kinv = np.tril(Kinv) + np.tril(Kinv, -1).T
        nll = 0.5 * (z @ a) + np.log(np.diagonal(L)).sum()
        G = 0.5 * (Kinv - np.outer(a, a))  # d nll / d K
        # d K_ij / d log ls_k = -amp * k'(r)/r * (xs_ik - xs_jk)^2, summed against G:
        # sum_ij W_ij (xs_ik - xs_jk)^2 = 2 (xs_k^2 . W 1 - xs_k . W xs_k), W symmetric
        W = G * slope * amp
        g_ls = -2.0 * ((Xs * Xs).T @ W.sum(1) - (Xs * (W @ Xs)).sum(0))
        trace = np.trace(G)
        grad = np.empty_like(p)
        grad[:n_ls] = g_ls if n_ls == X.shape[1] else g_ls.sum()
        grad[n_ls] = amp * ((G * k).sum() + 1e-8 * trace)
        grad[n_ls + 1] = (noise - prior.floor) * trace
        u = (p - self.centre) / self.sd
        return float((nll + 0.5 * (u * u).sum()) / n), (grad * inside + u / self.sd) / n


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):  # noqa: ANN001, ANN202
    # torch.optim.lbfgs._cubic_interpolate on floats
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(fun, x, t, d, f, g, gtd, max_ls, c1=1e-4, c2=0.9, tolerance_change=1e-9):  # noqa: ANN001, ANN202, PLR0913
    # torch.optim.lbfgs._strong_wolfe on numpy arrays and floats, step for step
    d_norm = float(np.abs(d).max())
    f_new, g_new = fun(x + t * d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = fun(x + t * d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = fun(x + t * d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _lbfgs(fun, x0: np.ndarray, max_iter: int) -> tuple[np.ndarray, float, int]:  # noqa: ANN001
    """Minimise ``fun`` (loss and gradient) from ``x0``: ``torch.optim.LBFGS(lr=1,
    max_iter=max_iter, line_search_fn="strong_wolfe")`` with its other defaults
    (tolerance_grad 1e-7, tolerance_change 1e-9, history 100, max_eval max_iter * 5 // 4),
    one ``step``, ported to numpy step for step: the same iterates up to rounding, at a
    fraction of the per-op cost. Returns the last iterate, its loss and the iterations."""
    tolerance_grad, tolerance_change, history_size = 1e-7, 1e-9, 100
    max_eval = max_iter * 5 // 4
    x = np.array(x0, dtype=np.float64)
    loss, flat_grad = fun(x)
    current_evals = 1
    if np.abs(flat_grad).max() <= tolerance_grad:
        return x, loss, 0
    old_dirs: list[np.ndarray] = []
    old_stps: list[np.ndarray] = []
    ro: list[float] = []
    al = [0.0] * history_size
    H_diag = 1.0
    d = -flat_grad
    t = 1.0
    prev_flat_grad = None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        if n_iter == 1:
            d = -flat_grad
        else:
            y = flat_grad - prev_flat_grad
            s = d * t
            ys = float(y @ s)
            if ys > 1e-10:
                if len(old_dirs) == history_size:
                    old_dirs.pop(0)
                    old_stps.pop(0)
                    ro.pop(0)
                old_dirs.append(y)
                old_stps.append(s)
                ro.append(1.0 / ys)
                H_diag = ys / float(y @ y)
            num_old = len(old_dirs)
            q = -flat_grad
            for i in range(num_old - 1, -1, -1):
                al[i] = float(old_stps[i] @ q) * ro[i]
                q -= al[i] * old_dirs[i]
            d = r = q * H_diag
            for i in range(num_old):
                be_i = float(old_dirs[i] @ r) * ro[i]
                r += (al[i] - be_i) * old_stps[i]
        prev_flat_grad = flat_grad.copy()
        prev_loss = loss
        t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) if n_iter == 1 else 1.0
        gtd = float(flat_grad @ d)
        if gtd > -tolerance_change:
            break
        loss, flat_grad, t, ls_func_evals = _strong_wolfe(
            fun, x, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
        )
        x = x + t * d
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        current_evals += ls_func_evals
        if n_iter == max_iter or current_evals >= max_eval or opt_cond:
            break
        if np.abs(d * t).max() <= tolerance_change:
            break
        if abs(loss - prev_loss) < tolerance_change:
            break
    return x, float(loss), n_iter


class GPLearner(TransformedTargetLearner):
    """Gaussian process for encoded configs: ``amp * Matern(nu, ARD) + noise``.

    On the space's encoding (one-hot categoricals, ordinals and numbers scaled to [0, 1]) a
    length scale per feature lets the GP ignore irrelevant features and weigh each choice;
    the white noise absorbs seed-to-seed noise. Hyperparameters are the maximum a
    posteriori of the marginal likelihood (L-BFGS from ``n_restarts + 1`` starts: torch's
    algorithm, run in numpy)
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
        small = len(z) <= 2000
        with single_thread(small), _one_blas_thread(small):
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
        objective = _Objective(Xt.numpy(), zt.numpy(), self.nu, prior)

        best, best_loss, n_iter = None, math.inf, 0
        for r in range(int(self.n_restarts) + 1):
            init = torch.empty(n_ls + 2, dtype=torch.float64)
            init[:n_ls] = mu0 - 0.5
            init[n_ls], init[n_ls + 1] = 0.0, math.log(0.05)
            if r > 0:
                init = init + torch.randn(n_ls + 2, generator=gen, dtype=torch.float64)
            try:
                p, loss, iters = _lbfgs(objective, init.numpy(), int(self.max_iter))
            except np.linalg.LinAlgError:  # non-PD kernel: a bad start
                continue
            if math.isfinite(loss) and loss < best_loss:
                best, best_loss, n_iter = torch.from_numpy(p), loss, iters
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
