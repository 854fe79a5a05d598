"""The learner-quality figure of a round: refitted k-fold CV, every round or on a schedule
(``cv_growth``), and the record saying when it was measured."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners import LinearLearner
from metarl.loop import History, initial_design, make_search_policy, refine
from metarl.loop._round import CV_GROWTH, cv_due
from metarl.space import Categorical, Float, SearchSpace

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=21), "y": Float(0.0, 1.0, bins=21), "c": Categorical(["a", "b"])}
)


def _f(M: np.ndarray) -> np.ndarray:
    return np.sin(3 * M[:, 0]) + (M[:, 1] - 0.4) ** 2 + 0.3 * M[:, 2]


def test_the_schedule_measures_each_time_the_training_set_grew_by_a_quarter() -> None:
    due = [n for n in range(5, 61) if cv_due(n, 1, CV_GROWTH)]
    assert due == [5, 7, 8, 10, 13, 16, 20, 24, 30, 38, 47, 59]
    assert all(b / a <= 1.3 for a, b in zip(due[4:], due[5:]))  # ~25 % apart
    # batches of k: every grid point is caught by the round whose k new rows cross it
    assert [n for n in range(10, 61, 5) if cv_due(n, 5, CV_GROWTH)] == [
        10,
        15,
        20,
        25,
        30,
        40,
        50,
        60,
    ]
    assert all(cv_due(n, 1, None) for n in range(5, 61))  # no schedule: every round
    with pytest.raises(ValueError, match="cv_growth"):
        cv_due(10, 1, 1.0)


def test_rounds_on_a_schedule_record_the_same_cv_when_due_and_none_between() -> None:
    M = initial_design(SPACE, 24, np.random.default_rng(1))
    policy = make_search_policy("exhaustive", SPACE)
    kw = {"learner": LinearLearner(), "policy": policy, "seed": 0, "cv": 5}
    for n in range(12, 25):
        h = History(M[:n], _f(M[:n]))
        every = refine(SPACE, h, 1, **kw).record
        sched = refine(SPACE, h, 1, cv_growth=CV_GROWTH, **kw).record
        assert every["cv_method"] == "5-fold" and isinstance(every["cv_spearman"], float)
        if n in (13, 16, 20, 24):
            assert sched["cv_method"] == "5-fold"
            assert sched["cv_spearman"] == every["cv_spearman"]  # the same honest figure
        else:
            assert sched["cv_method"] is None and sched["cv_spearman"] is None
        assert sched["n_train"] == n and sched["n_proposed"] == 1
    off = refine(SPACE, h, 1, learner=LinearLearner(), policy=policy, seed=0).record
    assert (off["cv_method"], off["cv_spearman"]) == (None, None)
