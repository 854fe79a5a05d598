"""The noise-aware incumbent: the evaluated config with the best posterior mean."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.learners import GPLearner
from metarl.loop import History, best_predicted, initial_design, recommend, refine
from metarl.space import Categorical, Float, SearchSpace

LINE = SearchSpace({"x": Float(0.0, 1.0, bins=21)})
SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=11), "opt": Categorical(["a", "b", "c"], ordered=False)}
)


def _lucky_history(seed: int) -> tuple[History, int]:
    """Every config of LINE once, true value (x - 0.7)^2, noisy; the worst config (x = 0)
    drew a lucky value below every other observation. Returns the history and that row."""
    rng = np.random.default_rng(seed)
    M = LINE.to_matrix([{"x": x} for x in np.linspace(0.0, 1.0, 21)])
    y = (M[:, 0] - 0.7) ** 2 + 0.02 * rng.standard_normal(len(M))
    lucky = int(np.argmin(np.abs(M[:, 0])))
    y[lucky] = y.min() - 0.05
    return History(M, y), lucky


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_lucky_draw_of_a_bad_config_is_not_recommended(seed: int) -> None:
    h, lucky = _lucky_history(seed)
    assert int(np.argmin(h.y)) == lucky  # the observed best is the lucky draw
    rec = recommend(LINE, h, GPLearner(), direction="minimize", seed=seed)
    assert rec != lucky
    assert abs(h.M[rec, 0] - 0.7) <= 0.1  # near the true optimum
    # the same with the metric negated and maximised
    flipped = recommend(LINE, History(h.M, -h.y), GPLearner(), direction="maximize", seed=seed)
    assert flipped == rec


def test_recommend_fits_the_learner_the_round_fits() -> None:
    M = initial_design(SPACE, 14, np.random.default_rng(4))
    y = (M[:, 0] - 0.3) ** 2 + 0.1 * M[:, 1] + 0.05 * np.random.default_rng(5).random(len(M))
    h = History(M, y)
    step = refine(SPACE, h, 1, learner=GPLearner(), policy=make_policy("exhaustive"), seed=7)
    assert best_predicted(SPACE, M, step.learner) == recommend(SPACE, h, GPLearner(), seed=7)


def test_few_observations_and_bad_input() -> None:
    M = LINE.to_matrix([{"x": 0.5}])
    assert recommend(LINE, History(M, np.array([3.0])), GPLearner()) == 0
    with pytest.raises(ValueError, match="no evaluated config"):
        recommend(LINE, History(M[:0], np.empty(0)), GPLearner())
    with pytest.raises(ValueError, match="no evaluated config"):
        best_predicted(LINE, M[:0], GPLearner())
    X = SPACE.encode_matrix(initial_design(SPACE, 5, np.random.default_rng(0)))
    fitted = GPLearner().fit(X, np.arange(5.0))
    with pytest.raises(ValueError, match="fitted on a different space"):
        best_predicted(LINE, M, fitted)
    with pytest.raises(ValueError, match="direction"):
        recommend(LINE, History(M, np.array([1.0])), GPLearner(), direction="up")
