"""refine(past_bests=n): each past dataset's best observed config before the policy's picks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metarl.agents import make_policy
from metarl.compare import parse_policy
from metarl.learners import make_learner
from metarl.loop import History, load_transfer, refine
from metarl.loop._transfer import past_bests
from metarl.space import Categorical, Float, SearchSpace

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=9), "opt": Categorical(["a", "b"], ordered=False)},
    context={"dataset": Categorical(["d1", "d2", "d3", "d4"])},
    context_values={"dataset": "d1"},
)


def _transfer():
    rng = np.random.default_rng(0)
    rows = []
    for d, best in (("d2", 0.125), ("d3", 0.875), ("d4", 0.5)):
        for x in np.linspace(0, 1, 9):
            for opt in "ab":
                loss = (x - best) ** 2 + (0.0 if opt == "a" else 0.05) + 0.001 * rng.random()
                rows.append({"x": x, "opt": opt, "dataset": d, "loss": loss})
    return load_transfer([pd.DataFrame(rows)], SPACE, metric="loss")


def _round(history: History, k: int, n: int):
    return refine(
        SPACE, history, k, learner=make_learner("gp"), policy=make_policy("exhaustive"),
        transfer=_transfer(), metric="loss", seed=0, past_bests=n,
    )  # fmt: skip


def test_past_bests_are_each_datasets_best_observed_config() -> None:
    best = SPACE.to_configs(past_bests(SPACE, _transfer(), "minimize"))
    assert best == [{"x": 0.125, "opt": "a"}, {"x": 0.875, "opt": "a"}, {"x": 0.5, "opt": "a"}]
    worst = SPACE.to_configs(past_bests(SPACE, _transfer(), "maximize"))
    assert all(c["opt"] == "b" for c in worst)


def test_the_first_round_proposes_the_past_bests_first_then_the_policys_picks() -> None:
    empty = History(np.empty((0, SPACE.n_columns)), np.empty(0))
    plain = _round(empty, 5, 0)
    starts = _round(empty, 5, 3)
    assert "n_past_bests" not in plain.record and starts.record["n_past_bests"] == 3
    bests = {(c["x"], c["opt"]) for c in SPACE.to_configs(past_bests(SPACE, _transfer()))}
    assert {(c["x"], c["opt"]) for c in starts.configs[:3]} == bests
    assert not bests <= {(c["x"], c["opt"]) for c in plain.configs}  # the lever changes the batch
    assert len(starts.configs) == 5 and len({tuple(c.items()) for c in starts.configs}) == 5
    # at most n, the ones the learner predicts best here: 2 of the 3
    two = _round(empty, 5, 2)
    assert two.record["n_past_bests"] == 2
    assert {(c["x"], c["opt"]) for c in two.configs[:2]} < bests


def test_one_config_a_round_takes_the_past_bests_in_turn_and_then_stops() -> None:
    history = History(np.empty((0, SPACE.n_columns)), np.empty(0))
    seen = []
    for _ in range(4):
        step = _round(history, 1, 3)
        seen.append(step.record.get("n_past_bests", 0))
        history = History(np.concatenate([history.M, step.M]), np.append(history.y, 0.0))
    assert seen == [1, 1, 1, 0]
    bests = {(c["x"], c["opt"]) for c in SPACE.to_configs(past_bests(SPACE, _transfer()))}
    assert {(c["x"], c["opt"]) for c in history.configs(SPACE)[:3]} == bests


def test_compare_specs_take_past_bests() -> None:
    assert parse_policy("default(past_bests=3)").past_bests == 3
    assert parse_policy("default").past_bests == 0
    with pytest.raises(ValueError, match="past_bests must be an integer"):
        parse_policy("default(past_bests=-1)")
