import numpy as np
import pytest

from metarl.learners import LinearLearner, TargetTransform


def test_auto_picks_log_for_orders_of_magnitude():
    y = np.geomspace(1e-4, 1e3, 50)
    assert TargetTransform("auto").fit(y).kind_ == "log"


def test_auto_picks_none_for_a_plain_metric():
    y = np.random.default_rng(0).normal(0.8, 0.05, 100)
    assert TargetTransform("auto").fit(y).kind_ == "none"


def test_auto_picks_rank_for_outliers():
    y = np.r_[np.random.default_rng(0).normal(0.8, 0.05, 100), 0.1]  # a dead run
    assert TargetTransform("auto").fit(y).kind_ == "rank"


@pytest.mark.parametrize("kind", ["log", "rank", "none"])
def test_round_trip_on_training_values(kind):
    y = np.random.default_rng(1).lognormal(0, 2, 40)
    t = TargetTransform(kind).fit(y)
    z = t.transform(y)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    back, _ = t.inverse(z)
    np.testing.assert_allclose(back, y, rtol=1e-9)


def test_inverse_std_is_nonnegative_and_monotone_mean():
    y = np.random.default_rng(2).lognormal(0, 2, 40)
    t = TargetTransform("log").fit(y)
    mu = np.linspace(-2, 2, 9)
    mean, std = t.inverse(mu, np.full(9, 0.3))
    assert (np.diff(mean) > 0).all() and (std > 0).all()


def test_log_of_nonpositive_is_a_clear_error():
    with pytest.raises(ValueError, match="'val_loss'.*> 0"):
        TargetTransform("log", name="val_loss").fit(np.array([1.0, 0.0, 2.0]))


def test_unknown_transform_and_nan():
    with pytest.raises(ValueError, match="target_transform"):
        TargetTransform("cube")
    with pytest.raises(ValueError, match="NaN"):
        TargetTransform().fit(np.array([1.0, np.nan]))


def test_predictions_come_back_on_the_metric_scale():
    rng = np.random.default_rng(3)
    X = rng.random((80, 3))
    y = np.exp(8 * X[:, 0] - 4)  # 0.02 .. 50
    pred = LinearLearner(target_transform="log").fit(X, y).predict(X)
    assert np.corrcoef(np.log(pred), np.log(y))[0, 1] > 0.99
    assert 0.5 * y.min() < pred.min() and pred.max() < 2 * y.max()


def test_group_normal_scores_rank_within_each_group():
    from metarl.learners import group_normal_scores

    y = np.array([90.0, 80.0, 85.0, 40.0, 30.0, 50.0])  # two datasets on different scales
    g = np.array(["c10", "c10", "c10", "img", "img", "img"])
    z = group_normal_scores(y, g)
    np.testing.assert_allclose(z[:3], z[[5, 4, 3]])  # same ranks within a group, same scores
    assert z[0] > z[2] > z[1] and z[5] > z[3] > z[4]
    assert abs(z[:3].sum()) < 1e-12  # symmetric normal scores
    with pytest.raises(ValueError, match="shape"):
        group_normal_scores(y, g[:3])


def test_rank_inverse_extrapolates_beyond_the_runs_seen():
    rng = np.random.default_rng(4)
    y = np.r_[rng.normal(0.9, 0.02, 60), 0.1]  # a dead run: "auto" picks rank
    t = TargetTransform("auto").fit(y)
    assert t.kind_ == "rank"
    z_top = (t.scores_[-1] - t.mean_) / t.scale_  # the best run's standardised score
    mu = z_top + np.array([-0.5, 0.0, 0.5, 1.0])
    mean, std = t.inverse(mu, np.full(4, 0.3))
    assert mean[1] == pytest.approx(y.max())
    # beyond the best run: still increasing, and the std does not collapse
    assert mean[2] > y.max() and mean[3] > mean[2]
    assert (std > 1e-3).all()
    # the slope of the outer tenth: about the spacing of the best runs per normal score
    k = 7
    slope = (t.sorted_[-1] - t.sorted_[-k]) / (t.scores_[-1] - t.scores_[-k])
    assert mean[3] - mean[2] == pytest.approx(0.5 * t.scale_ * slope)
    # below the worst run too, and forward undoes the extrapolation
    low = (t.scores_[0] - t.mean_) / t.scale_ - 1.0
    back, _ = t.inverse(np.array([low]))
    assert back[0] < y.min()
    np.testing.assert_allclose(t.transform(t.inverse(mu)[0]), mu, rtol=1e-9)
    np.testing.assert_allclose(t.transform(back), [low], rtol=1e-9)


def test_rank_extrapolation_of_a_saturated_metric_uses_the_whole_range():
    y = np.r_[np.linspace(0.5, 0.9, 20), np.full(10, 1.0)]  # ten runs tie at the top
    t = TargetTransform("rank").fit(y)
    mean, std = t.inverse(np.array([3.0]), np.array([0.2]))
    assert mean[0] > 1.0 and std[0] > 0
