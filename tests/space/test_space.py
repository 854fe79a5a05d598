"""Search space: kinds, conditions, context, encoding and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from metarl import Boolean, Categorical, Float, Integer, SearchSpace, SpaceError, Subset
from metarl.space import Fidelity


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        {
            "model": Categorical(["svm", "knn", "gb"]),
            "C": Float(1e-3, 1e3, log=True, bins=8, active_if={"model": ["svm"]}),
            "k": Integer(1, 50, active_if={"model": ["knn"]}),
            "n_layers": Categorical([1, 2, 3, 4]),
            "units_3": Integer(8, 512, log=True, active_if={"n_layers": [3, 4]}),
            "features": Subset([f"f{i}" for i in range(5)]),
            "scale": Boolean(),
        }
    )


def test_sample_gives_valid_configs_with_conditions(space: SearchSpace) -> None:
    configs = space.sample(500, seed=0)
    for c in configs:
        space.validate(c)
        assert ("C" in c) == (c["model"] == "svm")
        assert ("k" in c) == (c["model"] == "knn")
        assert ("units_3" in c) == (c["n_layers"] in (3, 4))
        assert 1 <= len(c["features"]) <= 5
        assert 1e-3 <= c.get("C", 1.0) <= 1e3
    assert space.sample(5, seed=1) == space.sample(5, seed=1)
    assert {c["model"] for c in configs} == {"svm", "knn", "gb"}


def test_encoding_layout(space: SearchSpace) -> None:
    X = space.encode(
        [{"model": "svm", "C": 1.0, "n_layers": 1, "features": ("f1", "f3"), "scale": True}]
    )
    assert X.dtype == np.float32 and X.shape == (1, space.encoded_width)
    f = dict(zip(space.feature_names, X[0]))
    assert f["model=svm"] == 1 and f["model=knn"] == 0 and f["model=gb"] == 0
    assert f["C:active"] == 1 and f["C"] == pytest.approx(0.5)  # log scale midpoint
    assert f["k:active"] == 0 and f["k"] == 0  # inactive: zeros
    assert f["n_layers"] == 0  # ordered numeric categorical -> scaled ordinal
    assert f["features[f1]"] == 1 and f["features[f0]"] == 0 and f["features[f3]"] == 1
    assert f["scale"] == 1


def test_encode_decode_round_trip(space: SearchSpace) -> None:
    M = space.snap_to_grid(space.sample_matrix(300, seed=3))
    configs = space.to_configs(M)
    decoded = space.decode(space.encode(configs))
    for a, b in zip(configs, decoded):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert b[k] == pytest.approx(a[k], rel=1e-4)
            else:
                assert a[k] == b[k]


@settings(max_examples=40, deadline=None)
@given(
    choices=st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=6, unique=True),
    low=st.integers(-50, 50),
    span=st.integers(0, 100),
    flo=st.floats(1e-4, 1.0),
    n_items=st.integers(1, 8),
    seed=st.integers(0, 2**16),
    epochs=st.integers(1, 200),
    frac=st.floats(0.01, 1.0),
)
def test_round_trip_property(choices, low, span, flo, n_items, seed, epochs, frac) -> None:
    space = SearchSpace(
        {
            "c": Categorical(choices),
            "i": Integer(low, low + span),
            "f": Float(flo, flo * 10, log=True),
            "s": Subset([f"x{j}" for j in range(n_items)]),
            "b": Boolean(active_if={"c": [choices[0]]}),
            "epochs": Fidelity(1, 200, log=True),
            "frac": Fidelity(0.01, 1.0, active_if={"c": [choices[-1]]}),
        }
    )
    configs = space.at_fidelity(space.sample(20, seed=seed), epochs=epochs, frac=frac)
    back = space.decode(space.encode(configs))
    for a, b in zip(configs, back):
        assert a["c"] == b["c"] and a["i"] == b["i"] and a["s"] == b["s"]
        assert a.get("b") == b.get("b")
        assert math.isclose(a["f"], b["f"], rel_tol=1e-4)
        assert a["epochs"] == b["epochs"] == epochs
        assert math.isclose(a.get("frac", 0.0), b.get("frac", 0.0), rel_tol=1e-4, abs_tol=1e-6)
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_cardinality_exact_and_enumerate_matches(space: SearchSpace) -> None:
    # gb: 1, svm: 8 bins, knn: k's grid; n_layers 1,2: 1, 3,4: units_3's grid; 31 subsets; bool
    n_k, n_units = len(space.params["k"].grid()), len(space.params["units_3"].grid())
    assert n_k == 32 and 20 < n_units <= 32  # 50 values > default bins; log grid rounds
    expected = (1 + 8 + n_k) * (2 + 2 * n_units) * 31 * 2
    assert space.cardinality == expected
    rows = np.concatenate(list(space.enumerate(chunk_size=10_000)))
    assert len(rows) == expected
    assert len(set(space.keys(rows))) == expected
    assert (
        space.active_matrix(rows).sum(axis=0)[space.names.index("C")]
        == 8 * (2 + 2 * n_units) * 31 * 2
    )


def test_cardinality_is_exact_python_int_beyond_2_64() -> None:
    space = SearchSpace(
        {
            "cols": Subset([f"c{i}" for i in range(80)], min_size=0),
            "m": Categorical(["a", "b", "c"]),
        }
    )
    assert space.cardinality == 3 * 2**80
    with pytest.raises(SpaceError, match="more than max_configs"):
        next(space.enumerate())


def test_subset_min_size_respected() -> None:
    space = SearchSpace({"s": Subset(["a", "b", "c"], min_size=2)})
    assert space.cardinality == 4
    assert all(len(c["s"]) >= 2 for c in space.sample(200, seed=0))
    assert len(np.concatenate(list(space.enumerate()))) == 4


def test_context_is_appended_and_per_config_overrides() -> None:
    space = SearchSpace(
        {"lr": Float(1e-4, 1e-1, log=True)},
        context={"dataset": Categorical(["a", "b"]), "n_samples": Integer(10, 10**6, log=True)},
    ).with_context(dataset="b", n_samples=1000)
    X = space.encode([{"lr": 1e-2}, {"lr": 1e-2, "dataset": "a"}])
    names = space.feature_names
    assert names[-3:] == ["context:dataset=a", "context:dataset=b", "context:n_samples"]
    assert X[0, -2] == 1 and X[1, -3] == 1
    assert X[0, -1] == pytest.approx(0.4, abs=1e-6)  # log10(1000) in [1, 6]
    assert space.encode_matrix(space.sample_matrix(4, seed=0))[:, -2].tolist() == [1] * 4
    with pytest.raises(SpaceError, match="no value"):
        SearchSpace({"lr": Float(0.1, 1.0)}, context={"d": Categorical(["x"])}).encode(
            [{"lr": 0.5}]
        )


def test_dict_and_yaml_round_trip(space: SearchSpace, tmp_path) -> None:
    d = space.to_dict()
    assert SearchSpace.from_dict(d) == space
    path = tmp_path / "space.yaml"
    space.to_yaml(path)
    assert SearchSpace.from_yaml(path) == space
    ctx = SearchSpace(
        {"x": Boolean()}, context={"hw": Categorical(["cpu", "cuda"])}, context_values={"hw": "cpu"}
    )
    assert SearchSpace.from_dict(ctx.to_dict()).context_values == {"hw": "cpu"}


def test_from_yaml_example(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        """
model: {type: categorical, choices: [svm, knn]}
gamma: {type: float, low: 0.001, high: 10, log: true, bins: 8, active_if: {model: [svm]}}
cols: {type: subset, items: [a, b, c]}
"""
    )
    space = SearchSpace.from_yaml(path)
    assert space.params["gamma"].active_if == {"model": ["svm"]}
    assert len(space.params["gamma"].grid()) == 8


def test_optuna_round_trip(space: SearchSpace) -> None:
    from metarl.space import config_from_optuna_params, config_to_optuna_params, to_optuna

    dists = to_optuna(space)
    assert "features[f0]" in dists and "model" in dists
    for c in space.sample(50, seed=2):
        params = config_to_optuna_params(space, c)
        for k, v in params.items():
            assert dists[k]._contains(dists[k].to_internal_repr(v))
        assert config_from_optuna_params(space, params) == c


def test_from_optuna() -> None:
    import optuna.distributions as od

    from metarl.space import from_optuna

    s = from_optuna(
        {
            "x": od.FloatDistribution(0.1, 1.0, log=True),
            "n": od.IntDistribution(1, 4),
            "a": od.CategoricalDistribution(["relu", "tanh"]),
            "b": od.CategoricalDistribution([False, True]),
        }
    )
    assert isinstance(s.params["x"], Float) and s.params["x"].log
    assert isinstance(s.params["b"], Boolean)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"a": Categorical([])}, "'a': choices must not be empty"),
        ({"a": Integer(5, 1)}, r"'a': low \(5\) > high \(1\)"),
        ({"a": Float(0.0, 1.0, log=True)}, "'a': log=True needs low > 0"),
        ({"a": Float(0.1, 1.0, active_if={"zz": [1]})}, "'a': condition names unknown parent 'zz'"),
        (
            {"a": Boolean(active_if={"b": [True]}), "b": Boolean(active_if={"a": [True]})},
            "cycle in conditions",
        ),
        ({"a": Categorical(["x", "x"])}, "'a': choices contain duplicates"),
        ({"a": Subset([])}, "'a': items must not be empty"),
        ({"a": Categorical(["x"]), "b": Boolean(active_if={"a": ["y"]})}, "'y' is not one of"),
    ],
)
def test_malformed_spaces_name_the_parameter(params, match) -> None:
    with pytest.raises(SpaceError, match=match):
        SearchSpace(params)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"model": "rf", "n_layers": 1, "features": ("f0",), "scale": True}, "'model'.*'rf'"),
        ({"model": "gb", "n_layers": 1, "features": ("f0",)}, "missing value.*'scale'"),
        (
            {"model": "gb", "n_layers": 1, "features": ("f0",), "scale": True, "zz": 1},
            r"unknown parameter\(s\) \['zz'\]",
        ),
        (
            {"model": "gb", "C": 1.0, "n_layers": 1, "features": ("f0",), "scale": True},
            "value given for inactive parameter 'C'",
        ),
        (
            {"model": "svm", "C": 1e9, "n_layers": 1, "features": ("f0",), "scale": True},
            "'C'.*outside",
        ),
        ({"model": "gb", "n_layers": 1, "features": ("f9",), "scale": True}, "'features'.*'f9'"),
        ({"model": "gb", "n_layers": 1, "features": (), "scale": True}, "fewer than min_size"),
    ],
)
def test_bad_configs_name_the_parameter(space: SearchSpace, config, match) -> None:
    with pytest.raises(SpaceError, match=match):
        space.validate(config)


def test_bad_dicts_and_yaml(tmp_path) -> None:
    with pytest.raises(SpaceError, match="'x': unknown type 'weird'"):
        SearchSpace.from_dict({"x": {"type": "weird"}})
    with pytest.raises(SpaceError, match=r"'x': unknown key\(s\) \['colour'\] for type 'boolean'"):
        SearchSpace.from_dict({"x": {"type": "boolean", "colour": 1}})
    # review 6 F11: a misspelt key names itself and the valid ones, not a constructor
    with pytest.raises(SpaceError, match=r"unknown key\(s\) \['lgo'\] for type 'float' \(valid: "):
        SearchSpace.from_dict({"x": {"type": "float", "low": 0, "high": 1, "lgo": True}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("x: [unclosed")
    with pytest.raises(SpaceError, match="bad.yaml: invalid YAML"):
        SearchSpace.from_yaml(bad)
    assert yaml.safe_load("a: 1") == {"a": 1}


def test_decisions_follow_columns(space: SearchSpace) -> None:
    ds = space.decisions
    assert len(ds) == space.n_columns
    assert [d.column for d in ds] == list(range(space.n_columns))
    names = [d.param for d in ds]
    assert names.index("model") < names.index("C")
    assert len(ds[names.index("C")].options) == 8
