"""Review 3 (search): a continuous parameter is never exhausted. Once every config of the
design grid is taken, a policy proposes off the grid (a finer grid of the Floats and of
the Integers with more values than bins); a finite space still runs out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.learners import LinearLearner
from metarl.space import Categorical, Float, Integer, SearchSpace


def _fitted(space: SearchSpace) -> LinearLearner:
    """A learner of the first column's value (minimised at its low end)."""
    M = space.sample_matrix(50, 0)
    return LinearLearner(target_transform="none").fit(space.encode_matrix(M), M[:, 0])


def _all(space: SearchSpace) -> list[dict]:
    return space.to_configs(np.concatenate(list(space.enumerate())))


@pytest.mark.parametrize("name", ["exhaustive", "local_search", "surrogate_sampling"])
def test_a_float_grid_used_up_gives_off_grid_configs(name: str) -> None:
    space = SearchSpace({"x": Float(0.0, 1.0), "c": Categorical(["a", "b"], ordered=False)})
    taken = _all(space)
    assert len(taken) == 32
    kwargs = {"n_samples": 2000} if name == "surrogate_sampling" else {}
    policy = make_policy(name, acquisition="mean", seed=0, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "only 0 unexplored ones" warning
        out = policy.propose(space, _fitted(space), 3, exclude=taken)
    assert len(out) == 3
    grid = space.params["x"].grid()
    for c in out:
        space.validate(c)
        assert 0.0 <= c["x"] <= 1.0 and not np.isclose(grid, c["x"]).any()
    assert len({(c["x"], c["c"]) for c in out}) == 3
    # the best by the acquisition off the grid: nearer the minimum at x = 0 (taken) than
    # the grid's next value 1/15, and than the midpoint between them
    assert min(c["x"] for c in out) < 1 / 15 / 2


def test_a_wide_integer_grid_used_up_gives_its_other_values_then_runs_out() -> None:
    space = SearchSpace({"n": Integer(0, 40)})  # 32 bins of 41 values
    taken = _all(space)
    assert len(taken) == 32
    policy = make_policy("exhaustive", acquisition="mean", seed=0)
    out = policy.propose(space, _fitted(space), 20, exclude=taken)
    assert len(out) == 9  # the 9 values between the bins, each an int of the space
    assert {c["n"] for c in out} | {c["n"] for c in taken} == set(range(41))
    assert all(isinstance(c["n"], int) for c in out)
    with pytest.warns(UserWarning, match="only 0 unexplored"):
        assert policy.propose(space, _fitted(space), 1, exclude=taken + out) == []


def test_a_finite_space_is_still_exhausted() -> None:
    space = SearchSpace({"k": Integer(1, 5), "c": Categorical(["a", "b", "c"], ordered=False)})
    assert space.finer(1) is None
    with pytest.warns(UserWarning, match="only 0 unexplored"):
        out = make_policy("exhaustive", seed=0).propose(
            space, _fitted(space), 2, exclude=_all(space)
        )
    assert out == []


def test_finer_keeps_the_grid_and_halves_its_spacing() -> None:
    space = SearchSpace(
        {"x": Float(1e-3, 1.0, log=True, bins=4), "n": Integer(1, 100), "k": Integer(1, 3)}
    )
    fine = space.finer(1)
    x, fx = space.params["x"].grid(), fine.params["x"].grid()
    assert len(fx) == 7 and np.allclose(fx[::2], x)
    assert np.allclose(fine.params["x"].encode_columns(fx[:, None])[:, 0], np.linspace(0, 1, 7))
    assert len(fine.params["n"].grid()) == 63 and len(space.finer(3).params["n"].grid()) == 100
    assert fine.params["k"].grid().tolist() == [1.0, 2.0, 3.0]
    assert fine.n_columns == space.n_columns and fine.encoded_width == space.encoded_width
    assert space.params["x"].bins == 4  # the space itself is unchanged
    focused = space.restrict(ranges={"x": [0.01, 0.1]})
    assert focused.finer(1).params["x"].grid().min() >= 0.01 - 1e-12
