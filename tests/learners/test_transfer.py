"""RGPE: cached past models, ranking weights, zero-shot, shapes, persistence, conformance."""

import numpy as np
import pytest

from metarl.learners import GPLearner, load_learner, save_learner
from metarl.learners._past_gps import normal_scores
from metarl.learners._transfer import RGPE, clear_transfer_cache
from metarl.learners.testing import LearnerTestCase

D = 4


def _f(X: np.ndarray) -> np.ndarray:
    return np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2]


def _data(pasts: dict[str, float], n_past: int = 60, n_target: int = 12, seed: int = 0):
    """Past datasets whose values are ``sign * f`` (plus noise), then the target's ``f``."""
    rng = np.random.default_rng(seed)
    Xs, ys, gs = [], [], []
    for name, sign in pasts.items():
        X = rng.random((n_past, D))
        Xs.append(X)
        ys.append(sign * _f(X) + 0.02 * rng.standard_normal(n_past))
        gs += [name] * n_past
    X = rng.random((n_target, D))
    Xs.append(X)
    ys.append(_f(X))
    gs += ["target"] * n_target
    return np.vstack(Xs), np.concatenate(ys), np.array(gs)


def _fit(X, y, g, **kw):
    """The paper's RGPE (the target GP competes for weight, its own hyperparameters) unless
    ``kw`` says otherwise; the defaults (stacking, the past's hyperparameters) where said."""
    kw = {"stack": False, "target_hypers": "own", **kw}
    return RGPE(n_restarts=0, random_state=0, **kw).fit(X, y, groups=g, target_group="target")


def test_past_models_are_fitted_once_and_cached():
    clear_transfer_cache()
    X, y, g = _data({"a": 1.0, "b": 1.0, "c": -1.0})
    first = _fit(X, y, g)
    assert (first.n_past_fitted_, first.n_past_cached_, first.hypers_cached_) == (3, 0, False)
    # a later round: the same past data, more target rows, another seed -> none refitted
    X2, y2, g2 = _data({"a": 1.0, "b": 1.0, "c": -1.0}, n_target=15)
    second = RGPE(n_restarts=0, random_state=7).fit(X2, y2, groups=g2, target_group="target")
    assert (second.n_past_fitted_, second.n_past_cached_, second.hypers_cached_) == (0, 3, True)
    assert all(m1 is m2 for m1, m2 in zip(first.past_models_, second.past_models_))
    # one past dataset changes: the shared hyperparameters change, so every model with them
    y3 = y2.copy()
    y3[g2 == "b"] += 0.1 * np.arange((g2 == "b").sum())
    third = _fit(X2, y3, g2)
    assert (third.n_past_fitted_, third.n_past_cached_, third.hypers_cached_) == (3, 0, False)
    # with each past GP's own hyperparameters, only the changed dataset's is refitted
    own = _fit(X2, y2, g2, share_hyperparameters=False)
    assert own.n_past_fitted_ == 3
    again = _fit(X2, y3, g2, share_hyperparameters=False)
    assert (again.n_past_fitted_, again.n_past_cached_) == (1, 2)


def test_shared_hyperparameters_predict_like_own_ones_on_alike_datasets():
    X, y, g = _data({"a": 1.0, "b": 1.0, "c": 1.0}, n_target=10)
    Xq = np.random.default_rng(3).random((200, D))
    shared = _fit(X, y, g).predict_standardized(Xq)[:, 0]
    own = _fit(X, y, g, share_hyperparameters=False).predict_standardized(Xq)[:, 0]
    assert np.corrcoef(shared, own)[0, 1] > 0.95
    assert np.corrcoef(shared, _f(Xq))[0, 1] > 0.9


def test_past_gp_matches_an_exact_gp_with_its_hyperparameters():
    """The batched predictor is the GP posterior on the past dataset's standardised scores."""
    X, y, g = _data({"a": 1.0}, n_target=0)
    model = _fit(X, y, g).past_models_[0]
    inv_ls, amp, noise = model["inv_ls"][0], model["amplitude"][0], model["noise"][0]

    def k(A, B):  # Matern 5/2 on scaled inputs
        r = np.sqrt((((A[:, None] - B[None]) * inv_ls) ** 2).sum(-1))
        return amp * (1 + np.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-np.sqrt(5) * r)

    z = normal_scores(y[:, None])[:, 0]
    z = (z - z.mean()) / z.std()
    A = k(X, X) + (noise + 1e-8 * amp) * np.eye(len(X))
    np.testing.assert_allclose(model["alpha"][0], np.linalg.solve(A, z), rtol=1e-6, atol=1e-8)
    Xq = np.random.default_rng(4).random((9, D))
    mean, std = _fit(X, y, g, past_std=True).predict_standardized(Xq, return_std=True)
    Ks = k(Xq, X)
    # the batched predictor runs in float32: ~1e-4 of the standardised scale
    np.testing.assert_allclose(mean[:, 0], Ks @ np.linalg.solve(A, z), atol=1e-3)
    var = amp + noise - np.einsum("ij,ji->i", Ks, np.linalg.solve(A, Ks.T))
    np.testing.assert_allclose(std[:, 0], np.sqrt(var), rtol=1e-2)


def test_without_past_std_only_the_target_gp_is_uncertain():
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=0)
    _, std = _fit(X, y, g, past_std=False).predict(X[:5], return_std=True)
    np.testing.assert_array_equal(std, 0.0)
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=10)
    learner = _fit(X, y, g, past_std=False)
    _, std = learner.predict_standardized(X[:5], return_std=True)
    _, sd_t = learner.target_model_.predict_standardized(X[:5], return_std=True)
    np.testing.assert_allclose(std, learner.weights_[:, -1] * sd_t)


def test_identical_past_dataset_outweighs_its_negation():
    X, y, g = _data({"same": 1.0, "negated": -1.0}, n_target=15)
    w = _fit(X, y, g).weights_[0]
    negated, same = w[0], w[1]  # past groups in sorted order, the target's weight last
    assert same > 0.5
    assert same == w.max()
    assert negated == pytest.approx(0.0, abs=0.02)
    np.testing.assert_allclose(w.sum(), 1.0)


def test_bad_sibling_is_diluted_to_zero_and_prediction_follows_the_good_one():
    X, y, g = _data({"negated": -1.0, "same": 1.0}, n_target=15)
    learner = _fit(X, y, g, dilution_percentile=50)
    assert learner.weights_[0, 0] == 0.0
    Xq = np.random.default_rng(5).random((300, D))
    rho = np.corrcoef(learner.predict(Xq), _f(Xq))[0, 1]
    assert rho > 0.9


def test_zero_shot_weights_are_uniform_over_past_models():
    X, y, g = _data({"a": 1.0, "b": -1.0, "c": 1.0}, n_target=0)
    learner = _fit(X, y, g)
    assert learner.target_model_ is None and learner.n_target_ == 0
    np.testing.assert_allclose(learner.weights_, [[1 / 3, 1 / 3, 1 / 3, 0.0]])
    mean, std = learner.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7,)
    assert (std > 0).all()


def test_one_target_row_keeps_uniform_past_weights():
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=1)
    learner = _fit(X, y, g)
    np.testing.assert_allclose(learner.weights_, [[0.5, 0.5, 0.0]])


def test_predictions_with_transfer_shapes_scale_and_std():
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=10)
    learner = _fit(X, y, g)
    Xq = np.random.default_rng(1).random((23, D))
    mean, std = learner.predict(Xq, return_std=True)
    assert mean.shape == std.shape == (23,)
    assert np.isfinite(mean).all() and (std > 0).all()
    np.testing.assert_allclose(learner.predict(Xq), mean)
    # predict is on the target's metric scale: the standardised mean mapped back
    z = learner.predict_standardized(Xq)
    back, _ = learner.target_model_.to_metric_scale(z)
    np.testing.assert_allclose(mean, back[:, 0])
    target = g == "target"
    assert y[target].min() - 1 < mean.mean() < y[target].max() + 1


def test_multi_target_with_transfer():
    X, y, g = _data({"a": 1.0, "b": -1.0}, n_target=10)
    flip = np.where(g == "target", 1.0, -1.0)  # second target: "a" backwards, "b" forwards
    Y = np.stack([y, flip * y], axis=1)
    learner = RGPE(n_restarts=0, random_state=0).fit(
        X, Y, groups=g, target_group="target", target_names=["loss", "gain"]
    )
    assert learner.weights_.shape == (2, 3)
    assert learner.weights_[0, 1] < learner.weights_[0, 0]  # "b" ranks the loss backwards
    assert learner.weights_[1, 0] < learner.weights_[1, 1]
    mean, std = learner.predict(X[:4], return_std=True)
    assert mean.shape == std.shape == (4, 2)


def test_past_models_ignore_their_constant_context_columns():
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=8)
    ctx = np.stack([g == "a", g == "b", g == "target"], axis=1).astype(float)
    learner = _fit(np.hstack([X, ctx]), y, g)
    for cols in learner.past_columns_:
        np.testing.assert_array_equal(cols, np.arange(D))


def test_without_groups_it_is_the_target_gp():
    X, y, _ = _data({}, n_target=30)
    learner = RGPE(n_restarts=0, random_state=0).fit(X, y)
    assert learner.past_models_ == [] and learner.weights_.tolist() == [[1.0]]
    gp = GPLearner(n_restarts=0, random_state=learner.target_model_.random_state).fit(X, y)
    np.testing.assert_allclose(learner.predict(X[:5]), gp.predict(X[:5]), rtol=1e-6)


def test_groups_without_target_group_raises():
    X, y, g = _data({"a": 1.0}, n_target=3)
    with pytest.raises(ValueError, match="target_group"):
        RGPE().fit(X, y, groups=g)
    with pytest.raises(ValueError, match="groups has shape"):
        RGPE().fit(X, y, groups=g[:-1], target_group="target")


def test_large_past_dataset_is_subsampled():
    X, y, g = _data({"big": 1.0}, n_past=120, n_target=5)
    learner = _fit(X, y, g, max_past_points=40)
    assert learner.past_models_[0]["alpha"].shape == (1, 40)
    assert learner.past_models_[0]["X"].shape == (40, D)


def test_persistence_with_past_models(tmp_path):
    X, y, g = _data({"a": 1.0, "b": -1.0}, n_target=6)
    learner = _fit(X, y, g)
    path = save_learner(learner, tmp_path / "rgpe.metarl")
    back = load_learner(path, trusted=[f"{RGPE.__module__}.{RGPE.__qualname__}"])
    m1, s1 = learner.predict(X[:9], return_std=True)
    m2, s2 = back.predict(X[:9], return_std=True)
    np.testing.assert_allclose(m1, m2, rtol=1e-6)
    np.testing.assert_allclose(s1, s2, rtol=1e-6)


class TestRGPEConformance(LearnerTestCase):
    # persistence with the allow-list needs the class registered: tested above with trusted=
    check_persistence = False

    def make_learner(self):
        return RGPE(n_restarts=0, random_state=0)


def test_stack_drops_a_sibling_worse_than_chance_and_follows_a_good_one():
    Xq = np.random.default_rng(5).random((300, D))
    X, y, g = _data({"negated": -1.0, "same": 1.0}, n_target=6)
    learner = _fit(X, y, g, stack=True)
    np.testing.assert_allclose(learner.weights_, [[0.0, 1.0, 1.0]])  # target residual: 1
    assert learner.prior_coef_[0, 1] > 0.5  # the good sibling's scale is kept
    assert np.corrcoef(learner.predict(Xq), _f(Xq))[0, 1] > 0.9
    X, y, g = _data({"negated": -1.0}, n_target=6)
    alone = _fit(X, y, g, stack=True)
    assert alone.weights_[0, 0] == 0.0 and alone.prior_coef_[0, 1] == 0.0
    t = g == "target"
    gp = GPLearner(n_restarts=0, random_state=0).fit(X[t], y[t])
    # no trusted sibling: the residual GP is the target's own GP (same transform)
    assert np.corrcoef(alone.predict(Xq), gp.predict(Xq))[0, 1] > 0.99


@pytest.mark.parametrize("stack", [False, True])
def test_target_gp_with_the_past_hyperparameters(stack):
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=8)
    learner = _fit(X, y, g, stack=stack, target_hypers="past")
    assert learner.target_model_ is None and learner.target_fixed_ is not None
    np.testing.assert_allclose(1.0 / learner.target_fixed_["inv_ls"][0], learner.hypers_[0][0])
    Xq = np.random.default_rng(6).random((200, D))
    mean, std = learner.predict(Xq, return_std=True)
    assert np.corrcoef(mean, _f(Xq))[0, 1] > 0.9 and (std > 0).all()
    np.testing.assert_allclose(
        mean, learner.to_metric_scale(learner.predict_standardized(Xq))[0][:, 0]
    )
    with pytest.raises(ValueError, match="share_hyperparameters"):
        _fit(X, y, g, target_hypers="past", share_hyperparameters=False)


def test_target_gp_leave_one_out_with_the_past_hyperparameters():
    """The closed-form leave-one-out means equal a refit without the row."""
    X, y, g = _data({"a": 1.0}, n_target=9)
    learner = _fit(X, y, g, target_hypers="past")
    M = learner._target_loo()[0]
    t = g == "target"
    z = learner.transforms_[0].transform(y[t])
    for j in (0, 4):
        keep = np.arange(len(z)) != j
        fixed = learner.target_fixed_
        part = RGPE(n_restarts=0, target_hypers="past", random_state=0)
        part.hypers_, part.n_targets_, part.target_names_ = learner.hypers_, 1, ["y"]
        part.target_fixed_ = None
        part._fit_target(X[t][keep], z[keep, None], 0, standardized=True)
        mu = part._target_predict(X[t], False)[0][:, 0]
        np.testing.assert_allclose(M[:, j], mu, atol=1e-3)
        assert fixed is learner.target_fixed_


def test_without_past_std_ignores_cached_past_variances():
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=0)
    _fit(X, y, g, past_std=True).predict(X[:5], return_std=True)  # caches the past variances
    _, std = _fit(X, y, g, past_std=False).predict(X[:5], return_std=True)
    np.testing.assert_array_equal(std, 0.0)


@pytest.mark.parametrize("stack", [False, True])
@pytest.mark.parametrize("target_hypers", ["own", "past"])
def test_untransformed_target_is_predicted_on_its_scale(stack, target_hypers):
    """``target_transform="none"`` still standardises the target: far from 0, the
    predictions stay in the target's range (they once fell to the past scores' scale)."""
    X, y, g = _data({"a": 1.0, "b": 1.0}, n_target=15)
    t = g == "target"
    y[t] = 1100.0 + 50.0 * y[t]
    learner = _fit(X, y, g, stack=stack, target_hypers=target_hypers, target_transform="none")
    mean = learner.predict(np.random.default_rng(7).random((200, D)))
    lo, hi = y[t].min(), y[t].max()  # (the past data may extrapolate beyond them)
    assert lo - (hi - lo) < mean.min() and mean.max() < hi + (hi - lo)
