"""GPLearner's fast paths compute what the plain formulas compute: the closed-form
gradient of the fit's objective is autograd's, the in-place kernel of prediction is the
out-of-place one bit for bit, and chunked prediction is one-shot prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metarl.learners import GPLearner
from metarl.learners._gp import _dist, _dist_, _matern, _matern_, _neg_log_posterior, _Prior

NUS = [0.5, 1.5, 2.5, math.inf]


@pytest.mark.parametrize("nu", NUS)
@pytest.mark.parametrize("ard", [True, False])
def test_closed_form_gradient_is_autograds(nu: float, ard: bool) -> None:
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.random((25, 4)))
    X[5] = X[6]  # a duplicate row: distance 0 off the diagonal
    z = torch.tensor(rng.standard_normal(25))
    n_ls = 4 if ard else 1
    p = torch.tensor(0.5 * rng.standard_normal(n_ls + 2))
    p[0] = 13.0  # outside the clamp: no gradient through the kernel, the prior's only
    p.requires_grad_()
    loss, grad = _neg_log_posterior(p, X, z, nu, _Prior(n_ls, 1.0, -4.0, 1e-4))
    loss.backward()
    torch.testing.assert_close(grad, p.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("nu", NUS)
def test_in_place_kernel_has_the_same_bits(nu: float) -> None:
    rng = np.random.default_rng(1)
    A, B = torch.tensor(rng.random((300, 6))), torch.tensor(rng.random((20, 6)))
    B[3] = A[7]  # a zero distance
    assert torch.equal(_dist_(A, B), _dist(A, B))
    assert torch.equal(_matern_(_dist(A, B), nu), _matern(_dist(A, B), nu))


def test_chunked_prediction_is_one_shot_prediction() -> None:
    rng = np.random.default_rng(2)
    X = rng.random((40, 3))
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    grid = rng.random((1000, 3))
    gp = GPLearner(random_state=0).fit(X, y)
    mu, sd = gp.predict(grid, return_std=True)
    gp._chunk_rows = 64  # 16 chunks instead of one
    mu_c, sd_c = gp.predict(grid, return_std=True)
    np.testing.assert_allclose(mu_c, mu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sd_c, sd, rtol=1e-12, atol=1e-12)
