"""SearchSpace.restrict: a focus that samples, enumerates and designs only inside itself
while it reads, writes and encodes configs exactly as its parent."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, SpaceError, Subset
from tests.space._focus import FEATURES, FOCUS, fit_learner, in_focus_by_hand, make_space


@pytest.fixture
def space() -> SearchSpace:
    return make_space()


@pytest.fixture
def sub(space: SearchSpace) -> SearchSpace:
    return space.restrict(**FOCUS)


def test_subspace_keeps_the_parent_layout(space: SearchSpace, sub: SearchSpace) -> None:
    for attr in ("names", "column_slices", "feature_slices", "column_names", "feature_names"):
        assert getattr(sub, attr) == getattr(space, attr)
    assert (sub.n_columns, sub.encoded_width) == (space.n_columns, space.encoded_width)
    assert sub.restricted and not space.restricted
    assert sub.parent == space and space.parent is None
    assert sub.focus == FOCUS and space.focus == {}
    assert sub.encoding_fingerprint() == space.fingerprint() != sub.fingerprint()
    assert sub.context_values == {"dataset": "a"}


def test_sampling_enumeration_and_decisions_stay_in_focus(
    space: SearchSpace, sub: SearchSpace
) -> None:
    S = sub.sample_matrix(2000, seed=0)
    configs = sub.to_configs(S)
    assert all(in_focus_by_hand(c) for c in configs)
    assert sub.contains_matrix(S).all()
    np.testing.assert_array_equal(space.to_matrix(configs), S)  # valid in the parent
    assert {c["n_layers"] for c in configs} == {2, 4}
    assert {len(c["features"]) for c in configs} == {1, 2, 3, 4}
    # C: 4 of the 8 log bins lie in [0.01, 100]; units: 6 bins; features: f1..f3 free
    assert sub.cardinality == 4 * (1 + 6) * 2**3
    E = np.concatenate(list(sub.enumerate(chunk_size=50)))
    assert len(E) == len(set(sub.keys(E))) == sub.cardinality
    assert all(in_focus_by_hand(c) for c in sub.to_configs(E))
    np.testing.assert_array_equal(space.snap_to_grid(E), E)  # on the parent's design grid
    options = {d.column: d.options for d in sub.decisions}
    f = space.column_slices["features"].start
    assert options[f].tolist() == [1.0] and options[f + 4].tolist() == [0.0]
    assert options[f + 1].tolist() == [0.0, 1.0]
    assert options[space.column_slices["model"].start].tolist() == [0.0]
    assert len(options[space.column_slices["C"].start]) == 4


def test_contains_matrix_matches_the_focus(space: SearchSpace, sub: SearchSpace) -> None:
    M = space.sample_matrix(20_000, seed=1)
    mask = sub.contains_matrix(M)
    expected = [in_focus_by_hand(c) for c in space.to_configs(M)]
    np.testing.assert_array_equal(mask, expected)
    assert 0 < mask.sum() < len(M)
    assert space.contains_matrix(M).all()
    inside, outside = space.to_configs(M[mask][:1])[0], space.to_configs(M[~mask][:1])[0]
    assert sub.contains(inside) and not sub.contains(outside)
    sub.validate(outside)  # a config of the parent is a config of the subspace's layout
    with pytest.raises(SpaceError, match="'model'.*'rf'"):
        sub.contains({**inside, "model": "rf"})


def test_snap_to_grid_moves_parent_rows_into_the_focus(
    space: SearchSpace, sub: SearchSpace
) -> None:
    M = space.sample_matrix(3000, seed=2)
    S = sub.snap_to_grid(M)
    assert sub.contains_matrix(S).all()
    np.testing.assert_array_equal(space.to_matrix(space.to_configs(S)), S)  # valid configs
    E = np.concatenate(list(sub.enumerate()))
    np.testing.assert_array_equal(sub.snap_to_grid(E), E)


def test_learner_fitted_on_the_parent_predicts_identically(
    space: SearchSpace, sub: SearchSpace
) -> None:
    learner = fit_learner(space, n=200)
    configs = sub.sample(100, seed=3)
    X_sub, X_parent = sub.encode(configs), space.encode(configs)
    np.testing.assert_array_equal(X_sub, X_parent)
    np.testing.assert_array_equal(learner.predict(X_sub), learner.predict(X_parent))
    mu_s, sd_s = learner.predict(X_sub, return_std=True)
    mu_p, sd_p = learner.predict(X_parent, return_std=True)
    np.testing.assert_array_equal(mu_s, mu_p)
    np.testing.assert_array_equal(sd_s, sd_p)
    assert sub.decode(X_sub) == space.decode(X_parent)
    M = space.sample_matrix(500, seed=4)  # rows outside the focus encode as in the parent
    np.testing.assert_array_equal(sub.encode_matrix(M), space.encode_matrix(M))


def test_focus_round_trips_through_dict_and_yaml(
    space: SearchSpace, sub: SearchSpace, tmp_path
) -> None:
    d = sub.to_dict()
    assert d["focus"] == FOCUS and "focus" not in space.to_dict()
    back = SearchSpace.from_dict(d)
    assert back == sub and back.cardinality == sub.cardinality
    assert space.restrict(**sub.focus) == sub
    path = tmp_path / "focus.yaml"
    sub.to_yaml(path)
    assert yaml.safe_load(path.read_text())["focus"]["items"] == {
        "features": {"include": ["f0"], "exclude": ["f4"]}
    }
    assert SearchSpace.from_yaml(path) == sub
    flat = SearchSpace({"x": Integer(1, 9)})
    assert SearchSpace.from_dict(flat.restrict(fixed={"x": 3}).to_dict()).focus == {
        "fixed": {"x": 3}
    }


def test_restricting_again_narrows_the_focus(space: SearchSpace, sub: SearchSpace) -> None:
    sub2 = sub.restrict(choices={"n_layers": [4]}, items={"features": {"exclude": ["f1"]}})
    assert sub2.focus["fixed"] == {"model": "svm", "n_layers": 4, "scale": True}
    assert sub2.focus["items"] == {"features": {"include": ["f0"], "exclude": ["f1", "f4"]}}
    assert sub2.cardinality == 4 * 6 * 2**2
    assert sub2.parent == space
    with pytest.raises(SpaceError, match="'n_layers': value 1 is outside the focus"):
        sub.restrict(choices={"n_layers": [1, 2]})
    with pytest.raises(SpaceError, match=r"'C': range \[0.001, 1\] is outside the focus"):
        sub.restrict(ranges={"C": [0.001, 1]})
    with pytest.raises(SpaceError, match="'features': item 'f0' is outside the focus"):
        sub.restrict(items={"features": {"exclude": ["f0"]}})


def test_fixed_values_off_the_grid_and_other_kinds() -> None:
    space = SearchSpace(
        {
            "lr": Float(1e-4, 1e-1, log=True),
            "batch": Categorical([16, 32, 64, 128]),
            "layers": Integer(1, 8),
            "bn": Boolean(),
        }
    )
    sub = space.restrict(
        fixed={"lr": 0.0123}, ranges={"batch": [30, 100], "layers": [2, 3]}, choices={"bn": [False]}
    )
    configs = sub.sample(200, seed=0)
    assert {c["lr"] for c in configs} == {0.0123}  # a fixed value need not be on the grid
    assert {c["batch"] for c in configs} == {32, 64}
    assert {c["layers"] for c in configs} == {2, 3} and {c["bn"] for c in configs} == {False}
    assert sub.cardinality == 1 * 2 * 2 * 1
    assert sub.focus == {
        "fixed": {"lr": 0.0123, "bn": False},
        "ranges": {"layers": [2, 3]},
        "choices": {"batch": [32, 64]},
    }


def test_subset_focus_near_min_size_samples_uniformly() -> None:
    space = SearchSpace({"s": Subset(list("abcdefghij"), min_size=7)})
    sub = space.restrict(items={"s": {"exclude": ["a", "b"]}})  # 8 free items, need 7
    assert sub.cardinality == 8 + 1
    counts: dict[tuple[str, ...], int] = {}
    for c in sub.sample(9000, seed=0):
        counts[c["s"]] = counts.get(c["s"], 0) + 1
    assert len(counts) == 9 and all(700 < v < 1300 for v in counts.values())
    only = space.restrict(items={"s": {"allowed": list("abcdefg")}})
    assert only.sample(3, seed=0) == [{"s": tuple("abcdefg")}] * 3
    assert only.cardinality == 1 and only.focus == {"items": {"s": {"exclude": list("hij")}}}


@pytest.mark.parametrize(
    ("focus", "match"),
    [
        ({"fixed": {"zz": 1}}, "focus: unknown parameter 'zz'"),
        ({"fixed": {"dataset": "b"}}, "'dataset' is a context feature.*--context"),
        ({"fixed": {"model": "rf"}}, "'model': value 'rf' is not one of"),
        ({"choices": {"model": []}}, "'model': the focus leaves no value"),
        ({"choices": {"model": "svm"}}, "'model': choices must be a list"),
        ({"ranges": {"C": [1e-5, 1.0]}}, r"'C': range \[1e-05, 1.0\] is outside \[0.001, 1000"),
        ({"ranges": {"C": [1.1, 1.2]}}, "'C': range .* holds no value of the design grid"),
        ({"ranges": {"C": [2.0, 1.0]}}, "'C': range .* has low > high"),
        ({"ranges": {"C": 5}}, "'C': a range must be a list"),
        ({"ranges": {"k": [1.5, 3]}}, "'k': a range of integers must be two ints"),
        ({"ranges": {"model": [0, 1]}}, "'model': ranges= applies to numeric choices only"),
        ({"choices": {"k": [1, 2]}}, "'k': Integer parameters cannot be restricted by choices="),
        ({"fixed": {"k": 99}}, "'k': value 99 is outside"),
        ({"items": {"features": {"include": ["zz"]}}}, "'features': item 'zz' is not one of"),
        ({"items": {"features": {"only": ["f0"]}}}, "'features': items= takes a mapping"),
        ({"items": {"features": {"exclude": FEATURES}}}, "leaves at most 0 items, fewer than"),
        (
            {"items": {"features": {"include": ["f0"], "exclude": ["f0"]}}},
            r"item\(s\) \['f0'\] both included and excluded",
        ),
        ({"items": {"model": {"include": ["svm"]}}}, "'model': Categorical parameters cannot be"),
        (
            {"fixed": {"model": "svm"}, "choices": {"model": ["svm"]}},
            "'model' is named in fixed and choices",
        ),
        ({"fixed": ["model"]}, "fixed must map parameter names to values"),
    ],
)
def test_bad_focus_is_one_line_naming_the_culprit(space: SearchSpace, focus, match) -> None:
    with pytest.raises(SpaceError, match=match) as e:
        space.restrict(**focus)
    assert "\n" not in str(e.value)


def test_bad_focus_in_a_dict(space: SearchSpace) -> None:
    d = {**space.to_dict(), "focus": {"sizes": {"k": 3}}}
    with pytest.raises(SpaceError, match=r"focus: unknown key 'sizes' \(one of"):
        SearchSpace.from_dict(d)
    d = {**space.to_dict(), "focus": {"fixed": {"k": 0}}}
    with pytest.raises(SpaceError, match="focus: parameter 'k': value 0 is outside"):
        SearchSpace.from_dict(d)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n_choices=st.integers(1, 5), span=st.integers(0, 60))
def test_random_focus_property(data, n_choices: int, span: int) -> None:
    """Any focus: samples and enumeration lie in it, are configs of the parent, encode as
    there; the enumeration has ``cardinality`` distinct rows; the focus round-trips."""
    choices = [f"c{j}" for j in range(n_choices)]
    items = [f"x{j}" for j in range(5)]
    min_size = data.draw(st.integers(0, 3))
    space = SearchSpace(
        {
            "c": Categorical(choices),
            "i": Integer(0, span),
            "f": Float(0.01, 1.0, log=True, bins=6),
            "s": Subset(items, min_size=min_size),
            "b": Boolean(active_if={"c": [choices[0]]}),
        }
    )
    grid_i, grid_f = space.params["i"].grid().tolist(), space.params["f"].grid().tolist()
    focus: dict = {"fixed": {}, "ranges": {}, "choices": {}, "items": {}}
    focus["choices"]["c"] = data.draw(st.lists(st.sampled_from(choices), min_size=1, unique=True))
    lo, hi = sorted(data.draw(st.lists(st.sampled_from(grid_i), min_size=2, max_size=2)))
    focus["ranges"]["i"] = [int(lo), int(hi)]
    if data.draw(st.booleans()):
        focus["fixed"]["f"] = data.draw(st.floats(0.01, 1.0))
    else:
        pair = data.draw(st.lists(st.sampled_from(grid_f), min_size=2, max_size=2))
        focus["ranges"]["f"] = sorted(pair)
    roles = data.draw(st.lists(st.sampled_from("ief"), min_size=5, max_size=5))
    assume(roles.count("i") + roles.count("f") >= min_size)
    focus["items"]["s"] = {
        "include": [it for it, r in zip(items, roles) if r == "i"],
        "exclude": [it for it, r in zip(items, roles) if r == "e"],
    }
    if choices[0] in focus["choices"]["c"] and data.draw(st.booleans()):
        # b is active only for c0: a focus fixing b that leaves c0 out is refused
        focus["fixed"]["b"] = data.draw(st.booleans())
    sub = space.restrict(**{k: v for k, v in focus.items() if v})

    M = sub.sample_matrix(50, seed=data.draw(st.integers(0, 2**16)))
    assert sub.contains_matrix(M).all()
    np.testing.assert_array_equal(space.to_matrix(sub.to_configs(M)), M)
    np.testing.assert_array_equal(sub.encode_matrix(M), space.encode_matrix(M))
    E = np.concatenate(list(sub.enumerate()))
    assert len(E) == len(set(sub.keys(E))) == sub.cardinality
    assert sub.contains_matrix(E).all()
    np.testing.assert_array_equal(space.to_matrix(sub.to_configs(E)), E)
    assert SearchSpace.from_dict(sub.to_dict()) == sub
    assert sub.contains_matrix(sub.snap_to_grid(space.sample_matrix(50, seed=0))).all()
