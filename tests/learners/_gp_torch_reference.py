"""The torch closed form of GPLearner's fit objective, kept as a test oracle: it is checked
against autograd, and the library's numpy objective (``metarl.learners._gp._Objective``) and
numpy L-BFGS against it and against ``torch.optim.LBFGS``."""

from __future__ import annotations

import math

import torch

from metarl.learners._gp import _SQRT3, _SQRT5, _dist, _Prior


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
