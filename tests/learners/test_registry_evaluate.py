from importlib.metadata import EntryPoint

import numpy as np
import pytest

import metarl._registry
from metarl.learners import (
    ENTRY_POINT_GROUP,
    AutoLearner,
    ForestLearner,
    LinearLearner,
    MetaLearner,
    _registry,
    available_learners,
    evaluate,
    make_learner,
    register_learner,
    score_predictions,
    top_recall,
)


def test_builtin_names():
    for name in ("linear", "forest", "mlp_ensemble", "gp", "ensemble", "auto"):
        assert name in available_learners()
        assert isinstance(make_learner(name), MetaLearner)


def test_kwargs_reach_the_learner():
    f = make_learner("forest", n_estimators=7, kind="random_forest")
    assert f.n_estimators == 7 and f.kind == "random_forest"


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown learner 'nope'.*forest.*gp"):
        make_learner("nope")


def test_unknown_kwarg_is_named():
    with pytest.raises(ValueError, match="'linear'.*bogus"):
        make_learner("linear", bogus=1)


def test_register_and_overwrite(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTRY", _registry._REGISTRY.copy())
    register_learner("my_linear", LinearLearner)
    assert isinstance(make_learner("my_linear"), LinearLearner)
    with pytest.raises(ValueError, match="already registered"):
        register_learner("my_linear", ForestLearner)
    register_learner("my_linear", "metarl.learners._forest:ForestLearner", overwrite=True)
    assert isinstance(make_learner("my_linear"), ForestLearner)
    with pytest.raises(TypeError, match="not a MetaLearner subclass"):
        register_learner("bad", dict)


def test_entry_points_are_consulted(monkeypatch):
    ep = EntryPoint("from_plugin", "metarl.learners._linear:LinearLearner", ENTRY_POINT_GROUP)
    monkeypatch.setattr(_registry, "_REGISTRY", _registry._REGISTRY.copy())
    monkeypatch.setattr(metarl._registry, "entry_points", lambda group: [ep])
    assert "from_plugin" in available_learners()
    assert isinstance(make_learner("from_plugin"), LinearLearner)


def test_score_predictions_perfect_and_reversed():
    y = np.arange(100.0)
    s = score_predictions(y, y)
    assert s["spearman"] == pytest.approx(1) and s["kendall"] == pytest.approx(1)
    assert s["rmse"] == 0 and s["r2"] == 1 and s["top10_recall"] == 1
    assert score_predictions(y, -y)["top10_recall"] == 0
    assert score_predictions(y, -y, direction="maximize")["top10_recall"] == 0


def test_top_recall_direction():
    y = np.arange(20.0)
    pred = y.copy()
    pred[0] = 100  # the true best (minimize) predicted worst
    assert top_recall(y, pred, direction="minimize") == 0.5
    assert top_recall(y, pred, direction="maximize") == 0.5  # 100 takes a top slot


def test_bad_direction():
    with pytest.raises(ValueError, match="direction"):
        score_predictions([1, 2], [1, 2], direction="up")


def test_evaluate_cv_keys_and_multi_target():
    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    y = X @ [3.0, 1.0, 0.0] + 0.01 * rng.random(60)
    s = evaluate(LinearLearner(), X, y, cv=4)
    assert set(s) == {"rmse", "r2", "spearman", "kendall", "top10_recall"}
    assert s["spearman"] > 0.95
    s2 = evaluate(LinearLearner(), X, np.c_[y, -y], cv=3)
    assert s2["spearman"].shape == (2,)
    with pytest.raises(ValueError, match="cv"):
        evaluate(LinearLearner(), X, y, cv=1)


def test_auto_records_choice_and_scores():
    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    y = X @ [3.0, 1.0, 0.5]
    auto = AutoLearner(candidates=("linear", ForestLearner(n_estimators=10)), cv=3).fit(X, y)
    assert set(auto.cv_scores_) == {"linear", "ForestLearner"}
    assert auto.chosen_ == "linear"  # a linear truth
    assert auto.cv_scores_["linear"] >= auto.cv_scores_["ForestLearner"]
    np.testing.assert_allclose(auto.predict(X), auto.best_estimator_.predict(X))


def test_auto_with_too_few_rows_takes_the_first_candidate():
    X = np.arange(8.0).reshape(4, 2)
    auto = AutoLearner(candidates=("linear", "forest")).fit(X, X[:, 0])
    assert auto.chosen_ == "linear" and auto.cv_scores_ == {}


def test_ensemble_bad_weights_and_candidates():
    from metarl.learners import EnsembleLearner

    X = np.random.default_rng(0).random((20, 2))
    with pytest.raises(ValueError, match="weights"):
        EnsembleLearner(members=("linear",), weights=[1.0, 2.0]).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="candidate"):
        AutoLearner(candidates=(42,)).fit(X, X[:, 0])


def test_evaluate_accepts_a_name():
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    assert evaluate("linear", X, X[:, 0] * 2, cv=3)["spearman"] > 0.99


def test_predict_standardized_is_the_fitted_scale():
    rng = np.random.default_rng(0)
    X = rng.random((50, 2))
    y = np.exp(6 * X[:, 0])
    learner = LinearLearner(target_transform="log").fit(X, np.c_[y, y])
    z = learner.predict_standardized(X)
    assert z.shape == (50, 2)
    assert abs(z[:, 0].mean()) < 0.1 and abs(z[:, 0].std() - 1) < 0.1
