"""GPLearner's fast paths compute what the plain formulas compute: the closed-form
gradient of the fit's objective is autograd's, the in-place kernel of prediction is the
out-of-place one bit for bit, and chunked prediction is one-shot prediction."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metarl.learners import GPLearner
from metarl.learners._gp import (
    _dist,
    _dist_,
    _lbfgs,
    _matern,
    _matern_,
    _Objective,
    _Prior,
)

from ._gp_torch_reference import _neg_log_posterior

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


def _problem(nu: float, ard: bool, n: int = 25, d: int = 4):
    rng = np.random.default_rng(3)
    X = rng.random((n, d))
    X[5] = X[6]  # a duplicate row: distance 0 off the diagonal
    z = np.sin(3 * X[:, 0]) + X[:, 1] + 0.1 * rng.standard_normal(n)
    z = (z - z.mean()) / z.std()
    n_ls = d if ard else 1
    return X, z, _Prior(n_ls, 1.0, -4.0, 1e-4)


@pytest.mark.parametrize("nu", NUS)
@pytest.mark.parametrize("ard", [True, False])
def test_numpy_objective_is_the_torch_one(nu: float, ard: bool) -> None:
    X, z, prior = _problem(nu, ard)
    rng = np.random.default_rng(4)
    for _ in range(3):
        p = 0.5 * rng.standard_normal(prior.n_ls + 2)
        p[0] = 13.0  # outside the clamp: the prior's gradient only
        loss, grad = _Objective(X, z, nu, prior)(p)
        t_loss, t_grad = _neg_log_posterior(
            torch.tensor(p), torch.tensor(X), torch.tensor(z), nu, prior
        )
        assert loss == pytest.approx(float(t_loss), rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(grad, t_grad.numpy(), rtol=1e-9, atol=1e-12)


def test_numpy_objective_refuses_a_non_positive_definite_kernel() -> None:
    X, z, prior = _problem(2.5, True)
    p = np.zeros(prior.n_ls + 2)
    bad = _Prior(prior.n_ls, prior.mu0, prior.mu_noise, -10.0)  # a negative "noise"
    with pytest.raises(np.linalg.LinAlgError):
        _Objective(X, z, 2.5, bad)(p)


@pytest.mark.parametrize("nu", [1.5, 2.5])
@pytest.mark.parametrize("start", [0, 1])
def test_numpy_lbfgs_follows_torch_lbfgs(nu: float, start: int) -> None:
    """The port takes torch.optim.LBFGS's steps: the same iterate count and end point."""
    X, z, prior = _problem(nu, True, n=30, d=3)
    x0 = np.full(prior.n_ls + 2, 0.5) + start * np.random.default_rng(5).standard_normal(
        prior.n_ls + 2
    )
    for max_iter in (3, 100):
        p, loss, n_iter = _lbfgs(_Objective(X, z, nu, prior), x0, max_iter)
        pt = torch.tensor(x0).requires_grad_()
        opt = torch.optim.LBFGS([pt], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")
        Xt, zt = torch.tensor(X), torch.tensor(z)

        def closure(pt=pt, Xt=Xt, zt=zt):
            value, pt.grad = _neg_log_posterior(pt.detach(), Xt, zt, nu, prior)
            return value

        with torch.no_grad():
            opt.step(closure)
        assert n_iter == opt.state[opt._params[0]]["n_iter"]
        np.testing.assert_allclose(p, pt.detach().numpy(), rtol=1e-7, atol=1e-9)
        assert loss == pytest.approx(float(closure()), rel=1e-10)


def test_lbfgs_stops_at_once_on_a_stationary_start() -> None:
    p, loss, n_iter = _lbfgs(lambda x: (float(x @ x), 2 * x), np.zeros(3), 100)
    assert n_iter == 0 and loss == 0.0 and np.array_equal(p, np.zeros(3))


def test_lbfgs_minimises_a_quadratic() -> None:
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    p, _, n_iter = _lbfgs(lambda x: (float(0.5 * x @ A @ x - b @ x), A @ x - b), np.ones(2), 50)
    np.testing.assert_allclose(p, np.linalg.solve(A, b), atol=1e-5)
    assert 0 < n_iter < 50


def test_fit_is_a_pure_function_of_data_and_seed() -> None:
    X, z, _ = _problem(2.5, True, n=30, d=3)
    a = GPLearner(random_state=7).fit(X, z)
    b = GPLearner(random_state=7).fit(X, z)
    for key in ("length_scale", "L", "alpha"):
        assert np.array_equal(a.models_[0][key], b.models_[0][key])
    assert a.n_iter_ == b.n_iter_ > 0
