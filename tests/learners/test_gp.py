"""GPLearner's noise handling: the prior on the noise and the std it predicts."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners import GPLearner


def _data(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    return X, np.sin(3 * X[:, 0]) + X[:, 1] + 0.3 * rng.standard_normal(n)


def test_a_larger_noise_prior_fits_a_larger_noise() -> None:
    X, y = _data()
    low = GPLearner(random_state=0).fit(X, y).models_[0]["noise"]
    high = GPLearner(noise_prior=1.0, random_state=0).fit(X, y).models_[0]["noise"]
    assert high > low


def test_predict_noise_adds_the_noise_variance_to_the_std() -> None:
    X, y = _data()
    with_noise = GPLearner(random_state=0).fit(X, y)
    latent = GPLearner(predict_noise=False, random_state=0).fit(X, y)
    z_mu, z_sd = with_noise.predict_standardized(X, return_std=True)
    l_mu, l_sd = latent.predict_standardized(X, return_std=True)
    np.testing.assert_allclose(z_mu, l_mu)  # the same fit: only the std differs
    noise = float(with_noise.models_[0]["noise"])
    np.testing.assert_allclose(z_sd**2, l_sd**2 + noise, rtol=1e-6, atol=1e-9)
    assert (l_sd < z_sd).all()


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), "big"])
def test_bad_noise_prior_is_one_clear_error(bad) -> None:
    X, y = _data(8)
    with pytest.raises(ValueError, match="noise_prior"):
        GPLearner(noise_prior=bad).fit(X, y)
