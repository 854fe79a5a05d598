"""The initial design and the seeded streams of a run."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.loop import initial_design, seed_streams
from metarl.space import Categorical, Float, Integer, SearchSpace

SPACE = SearchSpace(
    {
        "x": Float(-2.0, 2.0, bins=9),
        "n": Integer(1, 6),
        "opt": Categorical(["sgd", "adam"], ordered=False),
        "momentum": Float(0.0, 0.9, bins=4, active_if={"opt": ["sgd"]}),
    }
)


def test_distinct_on_the_grid_and_not_excluded() -> None:
    exclude = initial_design(SPACE, 20, np.random.default_rng(1))
    M = initial_design(SPACE, 30, np.random.default_rng(2), exclude)
    assert M.shape == (30, SPACE.n_columns)
    keys = SPACE.keys(M)
    assert len(set(keys)) == 30
    assert not set(keys) & set(SPACE.keys(exclude))
    np.testing.assert_array_equal(SPACE.snap_to_grid(M), M)  # already on the design grid
    for cfg in SPACE.to_configs(M):  # valid configs: inactive momentum left out
        SPACE.validate(cfg)


def test_a_seed_gives_one_design() -> None:
    a = initial_design(SPACE, 10, seed_streams(5)["init"])
    b = initial_design(SPACE, 10, seed_streams(5)["init"])
    c = initial_design(SPACE, 10, seed_streams(6)["init"])
    np.testing.assert_array_equal(a, b)
    assert SPACE.keys(a) != SPACE.keys(c)


def test_streams_are_independent() -> None:
    s = seed_streams(0)
    draws = {name: g.random() for name, g in s.items()}
    assert set(draws) == {"init", "noise", "transfer"} and len(set(draws.values())) == 3
    assert seed_streams(0)["noise"].random() == draws["noise"]


def test_a_nearly_exhausted_space_gives_what_is_left() -> None:
    tiny = SearchSpace({"a": Categorical([1, 2, 3]), "b": Categorical(["u", "v"])})
    first = initial_design(tiny, 4, np.random.default_rng(0))
    rest = initial_design(tiny, 4, np.random.default_rng(0), first, tries=50)
    assert len(rest) == 2 and not set(tiny.keys(rest)) & set(tiny.keys(first))
    with pytest.raises(ValueError, match="non-negative"):
        initial_design(tiny, -1, np.random.default_rng(0))


def _min_distance(M: np.ndarray) -> float:
    X = SPACE.encode(M)
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    return float(D[np.triu_indices(len(M), 1)].min())


def test_maximin_is_the_most_spread_of_random_designs() -> None:
    exclude = initial_design(SPACE, 5, np.random.default_rng(9))
    M = initial_design(SPACE, 8, np.random.default_rng(3), exclude, method="maximin")
    assert len(set(SPACE.keys(M))) == 8 and not set(SPACE.keys(M)) & set(SPACE.keys(exclude))
    for cfg in SPACE.to_configs(M):
        SPACE.validate(cfg)
    # at least as spread as each of 20 random designs, and replayed by a seed
    randoms = [initial_design(SPACE, 8, np.random.default_rng(s)) for s in range(20)]
    assert _min_distance(M) >= max(_min_distance(R) for R in randoms) - 1e-9
    again = initial_design(SPACE, 8, np.random.default_rng(3), exclude, method="maximin")
    np.testing.assert_array_equal(M, again)


def test_unknown_design_is_refused() -> None:
    with pytest.raises(ValueError, match="initial design 'sobol'"):
        initial_design(SPACE, 4, np.random.default_rng(0), method="sobol")
