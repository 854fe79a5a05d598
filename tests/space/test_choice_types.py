"""Categorical choices: None is a value like the others; other types are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from metarl import Categorical, Float, SearchSpace, SpaceError
from metarl.space import config_from_optuna_params, config_to_optuna_params, to_optuna


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(
        {
            "class_weight": Categorical([None, "balanced"]),
            "depth": Categorical([None, 2, 4], ordered=True),
            "C": Float(0.1, 10.0, log=True, active_if={"class_weight": [None]}),
        }
    )


def test_a_none_choice_is_a_value_not_an_inactive_parameter(space: SearchSpace) -> None:
    cfg = {"class_weight": None, "depth": None, "C": 1.0}
    space.validate(cfg)
    M = space.to_matrix([cfg, {"class_weight": "balanced", "depth": 4}])
    assert space.to_configs(M) == [cfg, {"class_weight": "balanced", "depth": 4}]
    with pytest.raises(SpaceError, match="missing value for active parameter 'class_weight'"):
        space.validate({"depth": 2})
    # every sampled config round-trips through the matrix, the encoding and Optuna's params
    configs = space.sample(64, seed=0)
    assert any(c["class_weight"] is None for c in configs)
    assert any(c["depth"] is None for c in configs)
    assert all(("C" in c) == (c["class_weight"] is None) for c in configs)
    M = space.to_matrix(configs)
    assert space.to_configs(M) == configs
    decoded = space.decode(space.encode(configs))  # float32 features: C to ~1e-6
    assert [{**d, "C": 0} for d in decoded] == [{**c, "C": 0} for c in configs]
    assert all(np.isclose(d.get("C", 0), c.get("C", 0)) for d, c in zip(decoded, configs))
    keys = space.keys(M)
    assert len(set(keys)) == len({tuple(sorted(map(repr, c.items()))) for c in configs})
    dists = to_optuna(space)
    for c in configs:
        params = config_to_optuna_params(space, c)
        for k, v in params.items():
            assert dists[k]._contains(dists[k].to_internal_repr(v))
        assert config_from_optuna_params(space, params) == c
    # the dict form keeps None (YAML null)
    again = SearchSpace.from_dict(space.to_dict())
    assert again.params["class_weight"].choices == [None, "balanced"]
    assert again.to_configs(M) == configs
    assert np.isnan(space.to_matrix([{"class_weight": "balanced", "depth": 2}])[0, 2])


def test_yaml_null_is_a_choice(tmp_path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("c: {type: categorical, choices: [null, a]}\n")
    s = SearchSpace.from_yaml(path)
    assert s.to_configs(s.to_matrix([{"c": None}, {"c": "a"}])) == [{"c": None}, {"c": "a"}]


@pytest.mark.parametrize(
    ("choices", "match"),
    [
        ([[1, 2], "a"], r"'c': choice \[1, 2\] is a list; a choice is a string, a number"),
        ([{"k": 1}], r"'c': choice \{'k': 1\} is a dict"),
        ([(1, 2)], r"'c': choice \(1, 2\) is a tuple"),
        ([float("nan"), 1.0], r"'c': choice nan"),
        ([None, None], r"'c': choices contain duplicates"),
    ],
)
def test_choices_of_other_types_are_refused_naming_the_parameter(choices, match) -> None:
    with pytest.raises(SpaceError, match=match):
        SearchSpace({"c": Categorical(choices)})
    with pytest.raises(SpaceError, match=match):
        SearchSpace.from_dict({"c": {"type": "categorical", "choices": choices}})


def test_a_context_feature_cannot_have_a_none_choice() -> None:
    with pytest.raises(SpaceError, match="context feature 'd': None cannot be a choice"):
        SearchSpace({"x": Float(0.0, 1.0)}, context={"d": Categorical([None, "a"])})
