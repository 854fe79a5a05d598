"""The round hands a transfer-aware learner (RGPE) the dataset of every row."""

from __future__ import annotations

import numpy as np

from metarl.agents import make_policy
from metarl.learners import RGPE
from metarl.loop import History, TransferData, context_label, initial_design, refine
from metarl.space import Categorical, Float, SearchSpace

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=21), "opt": Categorical(["a", "b", "c"], ordered=False)},
    context={"dataset": Categorical(["d1", "d2", "d3"])},
    context_values={"dataset": "d1"},
)


def _f(M: np.ndarray) -> np.ndarray:
    return (M[:, 0] - 0.3) ** 2 + 0.1 * M[:, 1]


def _past(name: str, sign: float) -> TransferData:
    other = SPACE.with_context(dataset=name)
    M = initial_design(other, 30, np.random.default_rng(len(name)))
    return TransferData(
        other.encode_matrix(M), sign * _f(M), np.full(30, context_label({"dataset": name}))
    )


def test_rgpe_gets_groups_and_trusts_the_sibling_that_ranks_like_the_target() -> None:
    good, bad = _past("d2", 1.0), _past("d3", -1.0)
    transfer = TransferData(
        np.concatenate([good.X, bad.X]),
        np.concatenate([good.y, bad.y]),
        np.concatenate([good.groups, bad.groups]),
    )
    M = initial_design(SPACE, 12, np.random.default_rng(0))
    r = refine(SPACE, History(M, _f(M)), 2, learner=RGPE(), policy=make_policy("exhaustive"),
               transfer=transfer, cv=5)  # fmt: skip
    w = dict(zip(r.learner.past_groups_, r.learner.weights_[0]))
    assert set(w) >= {good.groups[0], bad.groups[0]}, "the datasets reached the learner"
    assert w[good.groups[0]] > w[bad.groups[0]]
    assert r.record["cv_spearman"] is None  # clones would refit without groups
