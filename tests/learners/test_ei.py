"""Expected improvement ("ei"): log-EI over a noise-aware incumbent, in numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from metarl import Boolean, Categorical, Float, Integer, SearchSpace
from metarl.learners import GPLearner, LinearLearner, MLPEnsembleLearner, acquisition
from metarl.learners._acquisition import (
    acquisition_from_prediction,
    log_expected_improvement,
    log_h,
    posterior_incumbent,
    predict_for_acquisition,
)
from metarl.learners._device_topk import device_topk
from metarl.learners._torch_scoring import TorchScorer
from metarl.learners._torch_scoring import log_h as torch_log_h


def direct_ei(a: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """EI of N(a, sd^2) over ``best`` (higher is better), straight from scipy."""
    u = (a - best) / sd
    return (a - best) * norm.cdf(u) + sd * norm.pdf(u)


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace(
        {
            "a": Categorical(list("abcd")),
            "b": Integer(1, 6),
            "c": Float(0.0, 1.0, bins=4, active_if={"a": ["a", "b"]}),
            "d": Boolean(),
        }
    )


@pytest.fixture(scope="module")
def gp_data(space):
    M = space.sample_matrix(25, seed=3)
    X = space.encode_matrix(M)
    rng = np.random.default_rng(0)
    y = np.sin(3 * X @ rng.normal(size=X.shape[1])) + 0.1 * rng.normal(size=len(X))
    return X, y, GPLearner(random_state=0).fit(X, y)


def test_log_h_matches_scipy_where_that_is_accurate_and_stays_finite_beyond():
    u = np.linspace(-20, 20, 401)
    direct = np.log(norm.pdf(u) + u * norm.cdf(u))
    np.testing.assert_allclose(log_h(u), direct, rtol=1e-9, atol=1e-9)
    far = -np.logspace(1.6, 12, 50)[::-1]  # -1e12 .. -40: there direct EI underflows to 0
    got = log_h(far)
    assert np.isfinite(got).all() and (np.diff(got) > 0).all()
    # the leading order there is log phi(u) - 2 log|u|
    lead = norm.logpdf(far) - 2 * np.log(-far)
    np.testing.assert_allclose(got, lead, rtol=1e-3)


def test_ei_prefers_the_same_mean_with_a_higher_std():
    mu = np.array([0.0, 0.0, 2.0, 2.0, -3.0, -3.0])
    sd = np.array([0.1, 1.0, 0.1, 1.0, 0.1, 1.0])
    for sign in (1.0, -1.0):
        best = 1.0 * sign
        acq = acquisition_from_prediction(sign * mu, sd, "ei", 0.0, sign, best)
        assert (acq[1::2] > acq[::2]).all()


def test_ei_far_below_the_incumbent_is_very_negative_but_ordered():
    a = np.array([-200.0, -100.0, -60.0, -59.0])
    sd = np.full(4, 1.0)
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(direct_ei(a, sd, 0.0))).all()  # the naive log gives up
    got = log_expected_improvement(a, sd, 0.0)
    assert np.isfinite(got).all() and (np.diff(got) > 0).all() and got[-1] < -1000


def test_ei_of_a_zero_std_prediction_orders_by_the_mean():
    got = log_expected_improvement(np.array([-2.0, -1.0, 0.5, 1.0]), np.zeros(4), 0.0)
    assert np.isfinite(got).all() and (np.diff(got) > 0).all()


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_ei_on_a_gp_equals_a_direct_scipy_computation(space, gp_data, direction):
    X, _, gp = gp_data
    sign = 1.0 if direction == "maximize" else -1.0
    _, _, z_mu, z_sd = predict_for_acquisition(gp, X)
    best = posterior_incumbent(gp, X, direction)
    assert best == pytest.approx(np.max(sign * z_mu[:, 0]))
    C = space.encode_matrix(np.concatenate(list(space.enumerate())))
    got = acquisition(gp, C, "ei", direction=direction, incumbent=best)
    _, _, c_mu, c_sd = predict_for_acquisition(gp, C)
    ref = direct_ei(sign * c_mu[:, 0], c_sd[:, 0], best)
    ok = ref > 1e-200  # where scipy's EI has not underflowed
    assert ok.mean() > 0.9
    np.testing.assert_allclose(got[ok], np.log(ref[ok]), rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(np.argsort(-got, kind="stable")[:20], np.argsort(-ref)[:20])


def test_the_incumbent_is_the_best_posterior_mean_not_the_best_observed(gp_data):
    X, y, gp = gp_data
    y = y.copy()
    y[7] = y.min() - 3.0  # one lucky draw far below its neighbours
    noisy = GPLearner(random_state=0).fit(X, y)
    means = acquisition(noisy, X, "mean", direction="minimize")
    assert posterior_incumbent(noisy, X, "minimize") == pytest.approx(means.max())
    # the lucky draw's posterior mean is shrunk toward its neighbours: the bar sits below
    # its observed value on the same (standardised, signed) scale
    observed = -noisy.transforms_[0].transform(y[[7]])[0]
    assert posterior_incumbent(noisy, X, "minimize") < observed


def test_ei_without_an_incumbent_or_a_bad_one_is_refused(gp_data):
    X, _, gp = gp_data
    with pytest.raises(ValueError, match="acquisition 'ei' needs incumbent="):
        acquisition(gp, X, "ei")
    with pytest.raises(ValueError, match="incumbent must be a finite number"):
        acquisition(gp, X, "ei", incumbent=float("nan"))
    with pytest.raises(ValueError, match="no evaluated config"):
        posterior_incumbent(gp, X[:0])


# ---------------------------------------------------------------------- torch
def test_torch_log_h_matches_numpy():
    u = np.concatenate([-np.logspace(12, 0, 200), np.linspace(-1, 30, 200)])
    got = torch_log_h(torch.as_tensor(u)).numpy()
    np.testing.assert_allclose(got, log_h(u), rtol=1e-9)
    got32 = torch_log_h(torch.as_tensor(u, dtype=torch.float32)).numpy()
    assert np.isfinite(got32).all() and (np.diff(got32[:200]) >= 0).all()
    np.testing.assert_allclose(got32, log_h(u), rtol=1e-3, atol=1e-4)


@pytest.fixture(scope="module")
def torch_learners(space):
    X = space.encode_matrix(space.sample_matrix(60, seed=1))
    y = X @ np.random.default_rng(2).normal(size=X.shape[1])
    return X, {
        "linear": LinearLearner().fit(X, y),
        "mlp": MLPEnsembleLearner(n_members=3, hidden=8, epochs=20, random_state=0).fit(X, y),
    }


@pytest.mark.parametrize("name", ["linear", "mlp"])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_torch_ei_equals_the_numpy_acquisition(space, torch_learners, name, direction):
    X, learners = torch_learners
    learner = learners[name]
    best = posterior_incumbent(learner, X, direction)
    C = space.encode_matrix(np.concatenate(list(space.enumerate())))
    scorer = TorchScorer(learner, acquisition="ei", direction=direction, incumbent=best)
    got = scorer(torch.as_tensor(C)).numpy()
    ref = acquisition(learner, C, "ei", direction=direction, incumbent=best)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3)


def test_device_topk_with_ei_returns_the_exact_top(space, torch_learners):
    X, learners = torch_learners
    learner = learners["linear"]
    best = posterior_incumbent(learner, X, "minimize")
    M = np.concatenate(list(space.enumerate()))
    ref = acquisition(learner, space.encode_matrix(M), "ei", incumbent=best)
    top = np.argsort(-ref, kind="stable")[:5]
    got = device_topk(space, learner, 20_000, 5, seed=0, acquisition="ei", incumbent=best)
    np.testing.assert_allclose(got.scores, ref[top], rtol=1e-9)


def test_torch_ei_without_an_incumbent_is_refused(torch_learners):
    _, learners = torch_learners
    with pytest.raises(ValueError, match="acquisition 'ei' needs incumbent="):
        TorchScorer(learners["linear"], acquisition="ei")
    with pytest.raises(ValueError, match="acquisition must be one of"):
        TorchScorer(learners["linear"], acquisition="pi")
