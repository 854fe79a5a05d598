"""Conformance suite for meta-learners, shipped for plug-in authors.

Subclass :class:`LearnerTestCase` in your tests (pytest collects it through your class
name, which must start with ``Test``) and override :meth:`~LearnerTestCase.make_learner`::

    from metarl.learners.testing import LearnerTestCase

    class TestMyLearner(LearnerTestCase):
        def make_learner(self):
            return MyLearner(n_estimators=10)

Every check uses a small synthetic problem, so the suite takes seconds for a fast learner.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from metarl.learners._base import MetaLearner
from metarl.learners._persist import load_learner, save_learner


class LearnerTestCase:
    """Checks every :class:`~metarl.learners.MetaLearner` must pass.

    Attributes:
        n_train: rows of the synthetic training set.
        n_features: its features.
        min_spearman: Spearman correlation the learner must reach on held-out rows of the
            synthetic problem (a smooth function of the features); ``None`` skips the check.
        check_persistence: round-trip through ``save_learner``/``load_learner``.
    """

    n_train: int = 60
    n_features: int = 5
    min_spearman: float | None = 0.5
    check_persistence: bool = True

    def make_learner(self) -> MetaLearner:
        """Return a new, unfitted learner (override this)."""
        raise NotImplementedError("override make_learner() to return your learner")

    # ------------------------------------------------------------------ data
    def make_data(self, n: int | None = None, k: int = 1, seed: int = 0):
        """Features in [0, 1] and ``k`` positive targets of a smooth function of them."""
        rng = np.random.default_rng(seed)
        n = self.n_train if n is None else n
        X = rng.random((n, self.n_features)).astype(np.float32)
        base = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 2 % self.n_features]
        Y = np.stack([np.exp(base * (j + 1) * 0.5) + 0.05 * rng.random(n) for j in range(k)], 1)
        return X, (Y[:, 0] if k == 1 else Y)

    # ------------------------------------------------------------------ checks
    def test_is_meta_learner(self):
        assert isinstance(self.make_learner(), MetaLearner)

    def test_fit_returns_self(self):
        learner = self.make_learner()
        X, y = self.make_data()
        assert learner.fit(X, y) is learner
        assert learner.n_features_in_ == X.shape[1]
        assert learner.n_targets_ == 1
        assert list(learner.target_names_) == ["y0"]

    def test_clone(self):
        learner = self.make_learner()
        twin = clone(learner)
        assert type(twin) is type(learner)
        assert set(twin.get_params(deep=False)) == set(learner.get_params(deep=False))
        X, y = self.make_data()
        learner.fit(X, y)
        assert not hasattr(clone(learner), "n_targets_")

    def test_predict_shapes(self):
        X, y = self.make_data()
        learner = self.make_learner().fit(X, y)
        Xt, _ = self.make_data(n=17, seed=1)
        mean = learner.predict(Xt)
        assert mean.shape == (17,)
        mean2, std = learner.predict(Xt, return_std=True)
        assert mean2.shape == std.shape == (17,)
        np.testing.assert_allclose(mean, mean2, rtol=1e-5, atol=1e-8)
        assert np.isfinite(mean).all() and np.isfinite(std).all()
        assert (std >= 0).all()

    def test_multi_target(self):
        X, Y = self.make_data(k=2)
        learner = self.make_learner().fit(X, Y, target_names=["loss", "time"])
        assert learner.n_targets_ == 2
        assert list(learner.target_names_) == ["loss", "time"]
        mean, std = learner.predict(X[:9], return_std=True)
        assert mean.shape == std.shape == (9, 2)
        assert (std >= 0).all()
        with pytest.raises(ValueError, match="target_names"):
            self.make_learner().fit(X, Y, target_names=["only_one"])

    def test_unfitted_raises(self):
        X, _ = self.make_data(n=4)
        with pytest.raises(NotFittedError):
            self.make_learner().predict(X)

    def test_wrong_width_raises(self):
        X, y = self.make_data()
        learner = self.make_learner().fit(X, y)
        with pytest.raises(ValueError, match="features"):
            learner.predict(np.zeros((3, X.shape[1] + 1), dtype=np.float32))

    def test_nan_target_raises(self):
        X, y = self.make_data()
        y = y.copy()
        y[3] = np.nan
        with pytest.raises(ValueError):
            self.make_learner().fit(X, y)

    def test_rank_quality(self):
        if self.min_spearman is None:
            return
        from metarl.learners._evaluate import score_predictions

        X, y = self.make_data()
        Xt, yt = self.make_data(n=200, seed=7)
        pred = self.make_learner().fit(X, y).predict(Xt)
        rho = score_predictions(yt, pred)["spearman"]
        assert rho >= self.min_spearman, f"spearman {rho:.3f} < {self.min_spearman}"

    def test_persistence(self, tmp_path):
        if not self.check_persistence:
            return
        X, Y = self.make_data(k=2)
        learner = self.make_learner().fit(X, Y)
        path = save_learner(learner, tmp_path / "learner.metarl")
        back = load_learner(path)
        assert type(back) is type(learner)
        m1, s1 = learner.predict(X, return_std=True)
        m2, s2 = back.predict(X, return_std=True)
        np.testing.assert_allclose(m1, m2, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(s1, s2, rtol=1e-6, atol=1e-9)
