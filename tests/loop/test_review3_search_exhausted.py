"""Review 3 (search): a Study on a continuous parameter is not stopped as "exhausted"
when the design grid is used up; a finite space still is."""

from __future__ import annotations

import warnings

import pytest

from metarl import Categorical, Float, Integer, SearchSpace, Study


def _study(space: SearchSpace) -> Study:
    def trainer(c: dict) -> dict:
        return {"loss": (c.get("x", 0.0) - 0.3141) ** 2 + (c.get("c") == "b")}

    return Study(space, trainer, metric="loss", direction="minimize", executor="thread",
                 n_workers=1, n_init=4, batch_size=4, seed=0)  # fmt: skip


def test_a_float_is_never_exhausted() -> None:
    s = _study(SearchSpace({"x": Float(0.0, 1.0, bins=4), "c": Categorical(["a", "b"])}))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="the space is exhausted")
        s.optimize(16)  # 8 configs on the grid
    xs = [c["x"] for c in s.history()[0]]
    assert len(xs) == 16 and len(set(zip(xs, [c["c"] for c in s.history()[0]]))) == 16
    assert abs(s.best_config["x"] - 0.3141) < abs(1 / 3 - 0.3141)  # better than the grid's


def test_a_finite_space_stops_with_the_warning() -> None:
    s = _study(SearchSpace({"k": Integer(1, 3), "c": Categorical(["a", "b"])}))
    with pytest.warns(UserWarning, match="the space is exhausted"):
        s.optimize(10)
    assert len(s.history()[0]) == 6
