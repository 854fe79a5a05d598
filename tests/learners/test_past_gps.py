"""The past GPs of RGPE: the shared hyperparameter fit against a plain GP's."""

import numpy as np

from metarl.learners._past_gps import own_hypers, shared_hypers


def test_shared_fit_of_one_dataset_is_a_plain_gp_fit():
    """One dataset, shared: the same priors, start and optimiser as :class:`GPLearner`, so
    the same hyperparameters (the batched fit names the priors' log-sds on its own)."""
    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    z = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(40)
    z = (z - z.mean()) / z.std()
    ls, amp, noise = shared_hypers([X], [z], 2.5, 100)
    ls_gp, amp_gp, noise_gp = own_hypers(X, z, 2.5, 100)
    np.testing.assert_allclose(ls, ls_gp, rtol=1e-4)
    np.testing.assert_allclose([amp, noise], [amp_gp, noise_gp], rtol=1e-4)
