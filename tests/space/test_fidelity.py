"""Fidelity: a meta-feature the loop chooses, held at ``full`` by the design."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.learners import ForestLearner
from metarl.space import (
    Categorical,
    Fidelity,
    Float,
    Integer,
    SearchSpace,
    SpaceError,
    config_from_optuna_params,
    config_to_optuna_params,
    from_optuna,
    to_optuna,
)


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        {
            "model": Categorical(["mlp", "ridge"]),
            "lr": Float(1e-4, 1e-1, log=True, bins=6, active_if={"model": ["mlp"]}),
            "alpha": Integer(1, 5, active_if={"model": ["ridge"]}),
            "n_samples": Fidelity(0.05, 1.0, log=True),
            "epochs": Fidelity(1, 81, log=True, bins=5, active_if={"model": ["mlp"]}),
        }
    )


def test_encoded_as_a_scaled_meta_feature(space: SearchSpace) -> None:
    X = space.encode([{"model": "mlp", "lr": 1e-2, "n_samples": 0.05, "epochs": 9}])
    f = dict(zip(space.feature_names, X[0]))
    assert f["n_samples"] == 0 and f["epochs:active"] == 1
    assert f["epochs"] == pytest.approx(0.5)  # log scale: 9 is midway from 1 to 81
    full = space.encode([{"model": "mlp", "lr": 1e-2, "n_samples": 1.0, "epochs": 81}])
    assert full[0, space.feature_names.index("n_samples")] == 1.0
    assert space.fidelity_names == ["n_samples", "epochs"]
    assert space.params["epochs"].integer and not space.params["n_samples"].integer


def test_the_design_holds_fidelities_at_full(space: SearchSpace) -> None:
    plain = SearchSpace({n: space.params[n].unrestricted() for n in ("model", "lr", "alpha")})
    assert space.cardinality == plain.cardinality == 6 + 5
    options = {d.param: d.options.tolist() for d in space.decisions}
    assert options["n_samples"] == [1.0] and options["epochs"] == [81.0]
    for M in (space.sample_matrix(300, seed=0), np.concatenate(list(space.enumerate()))):
        configs = space.to_configs(M)
        assert all(c["n_samples"] == 1.0 for c in configs)
        assert all(c.get("epochs", 81) == 81 for c in configs)
        assert all(("epochs" in c) == (c["model"] == "mlp") for c in configs)
    snapped = space.snap_to_grid(space.at_fidelity(space.sample_matrix(50, 1), n_samples=0.1))
    assert set(snapped[:, space.column_slices["n_samples"].start]) == {1.0}


def test_search_true_lets_the_design_choose_it() -> None:
    f = Fidelity(1, 81, log=True, bins=5, search=True)
    space = SearchSpace({"x": Categorical(["a", "b"]), "epochs": f})
    assert f.levels().tolist() == [1, 3, 9, 27, 81]
    assert space.cardinality == 2 * 5
    values = {c["epochs"] for c in space.sample(500, seed=0)}
    assert len(values) > 20 and min(values) >= 1 and max(values) <= 81
    assert all(isinstance(v, int) for v in values)
    assert Fidelity(0.05, 1.0, log=True, bins=3).levels() == pytest.approx([0.05, 0.05**0.5, 1.0])


def test_missing_fidelity_means_full_and_at_fidelity(space: SearchSpace) -> None:
    configs = [{"model": "mlp", "lr": 1e-3}, {"model": "ridge", "alpha": 2, "n_samples": 0.2}]
    M = space.to_matrix(configs)
    assert space.to_configs(M) == [
        {"model": "mlp", "lr": 1e-3, "n_samples": 1.0, "epochs": 81},
        {"model": "ridge", "alpha": 2, "n_samples": 0.2},
    ]
    low = space.at_fidelity(configs, n_samples=0.1, epochs=3)
    assert low == [
        {"model": "mlp", "lr": 1e-3, "n_samples": 0.1, "epochs": 3},
        {"model": "ridge", "alpha": 2, "n_samples": 0.1},  # epochs inactive: left out
    ]
    assert space.at_full_fidelity(low) == [
        {"model": "mlp", "lr": 1e-3, "n_samples": 1.0, "epochs": 81},
        {"model": "ridge", "alpha": 2, "n_samples": 1.0},
    ]
    assert configs[1]["n_samples"] == 0.2  # copies, not the inputs
    M_low = space.at_fidelity(M, epochs=9)
    cols = space.column_slices["epochs"].start
    assert M_low[0, cols] == 9 and np.isnan(M_low[1, cols])
    np.testing.assert_array_equal(space.at_full_fidelity(M_low)[0], M[0])


def test_learner_across_fidelities_ranks_designs_at_full(space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    M = space.sample_matrix(300, seed=0)
    M = space.at_fidelity(M, n_samples=0.05)
    M[:, space.column_slices["n_samples"].start] = rng.choice([0.05, 0.2, 1.0], len(M))
    X = space.encode_matrix(M)
    y = X[:, space.feature_names.index("n_samples")] + X[:, 1]  # lower with less data
    learner = ForestLearner(n_estimators=30, random_state=0).fit(X, y)
    proposals = make_policy("exhaustive").propose(space, learner, 4)
    assert all(c["n_samples"] == 1.0 and c.get("epochs", 81) == 81 for c in proposals)


def test_dict_yaml_and_optuna_round_trip(space: SearchSpace, tmp_path) -> None:
    custom = SearchSpace({"e": Fidelity(2, 40, full=30, bins=3, search=True), "x": Float(0.0, 1.0)})
    for s in (space, custom):
        assert SearchSpace.from_dict(s.to_dict()) == s
        s.to_yaml(tmp_path / "s.yaml")
        assert SearchSpace.from_yaml(tmp_path / "s.yaml") == s
    assert custom.to_dict()["e"] == {
        "type": "fidelity",
        "low": 2,
        "high": 40,
        "bins": 3,
        "full": 30,
        "search": True,
    }
    assert custom.sample(2, seed=0)[0]["e"] in range(2, 41)
    dists = to_optuna(space)
    assert dists["epochs"].low == 1 and dists["epochs"].high == 81 and dists["epochs"].log
    assert dists["n_samples"].low == 0.05 and dists["n_samples"].log
    for c in space.at_fidelity(space.sample(30, seed=1), n_samples=0.3):
        params = config_to_optuna_params(space, c)
        for k, v in params.items():
            assert dists[k]._contains(dists[k].to_internal_repr(v))
        assert config_from_optuna_params(space, params) == c
    back = from_optuna(dists, fidelity=["n_samples", "epochs"])
    assert back.fidelity_names == ["n_samples", "epochs"]
    assert isinstance(from_optuna(dists).params["epochs"], Integer)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda s: s.validate({"model": "ridge", "alpha": 1, "n_samples": 2.0}),
            r"'n_samples': fidelity 2.0 is outside \[0.05, 1.0\]",
        ),
        (
            lambda s: s.validate({"model": "mlp", "lr": 0.01, "epochs": 2.5}),
            "'epochs': fidelity 2.5 is not an integer",
        ),
        (
            lambda s: s.at_fidelity([{"model": "ridge", "alpha": 1}], n_samples=0.01),
            r"'n_samples': fidelity 0.01 is outside",
        ),
        (lambda s: s.at_fidelity([], lr=0.01), "'lr' is not a Fidelity parameter"),
        (lambda s: s.restrict(fixed={"epochs": 3}), "'epochs': a fidelity is chosen by the loop"),
        (lambda s: SearchSpace({"e": Fidelity(1, 10, full=20)}), r"'e': full: fidelity 20 is"),
        (lambda s: SearchSpace({"e": Fidelity(0.0, 1.0, log=True)}), "'e': log=True needs low"),
        (
            lambda s: SearchSpace({"e": Fidelity(1, 9), "x": Float(0, 1, active_if={"e": [9]})}),
            "a Fidelity cannot be the parent of a condition",
        ),
        (
            lambda s: SearchSpace({"x": Float(0, 1)}, context={"e": Fidelity(1, 9)}),
            "context feature 'e'",
        ),
    ],
)
def test_bad_fidelity_input_is_one_line(space: SearchSpace, make, match) -> None:
    with pytest.raises(SpaceError, match=match) as e:
        make(space)
    assert "\n" not in str(e.value)
