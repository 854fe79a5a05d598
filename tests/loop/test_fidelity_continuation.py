"""The fidelity choice with a trainer that continues configs: raising an evaluated config
from level l to L is priced c(L) - c(l), in the gain per cost and in promotions."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.loop._cost import MIN_RAISE_SHARE, continued_cost
from metarl.loop._fidelity import _p_improve, choose_fidelity
from tests.loop import test_fidelity
from tests.loop.test_fidelity import low_history

space = test_fidelity.space  # the fixture, shared


def test_continued_cost_subtracts_the_highest_evaluated_level_only_above_it() -> None:
    """The trainer keeps one checkpoint per config, its most trained: a level above it
    continues from it, a level at or below it trains from scratch (TorchMLPTrainer: after 1
    and 6 epochs, 3 epochs retrain)."""
    scratch = np.array([[1.0, 3.0, 7.0, 20.0], [1.0, 3.0, 7.0, 20.0], [1.0, 3.0, 7.0, 20.0]])
    done = np.array([[True, False, True, False], [False] * 4, [True, True, True, False]])
    out = continued_cost(scratch, done, 1.0)
    assert out[0].tolist() == [1.0, 3.0, 7.0, 13.0]  # level 1 is below the checkpoint of 7
    assert out[1].tolist() == scratch[1].tolist()  # never evaluated: from scratch
    assert out[2].tolist() == [1.0, 3.0, 7.0, 13.0]
    half = continued_cost(scratch, done, 0.5)
    assert half[0].tolist() == [1.0, 3.0, 7.0, 16.5]
    assert np.array_equal(continued_cost(scratch, done, 0.0), scratch)
    floored = continued_cost(np.array([[1.0, 1.0]]), np.array([[True, False]]), 1.0)
    assert floored.tolist() == [[1.0, MIN_RAISE_SHARE]]


def test_raising_an_evaluated_config_is_priced_by_what_continuing_adds(space):
    history, seconds, gp = low_history(space, f=space.params["f"].levels()[1])
    M = space.at_full_fidelity(history.M[:2])
    plain = choose_fidelity(space, M, history, seconds, gp, direction="maximize", promote_pi=1.1)
    cont = choose_fidelity(
        space, M, history, seconds, gp, direction="maximize", promote_pi=1.1, continuation=1.0
    )
    # the levels above the evaluated one cost less by the evaluated level's cost
    np.testing.assert_allclose(cont.cost[:, 2:], plain.cost[:, 2:] - plain.cost[:, [1]])
    np.testing.assert_allclose(cont.cost[:, :2], plain.cost[:, :2])
    assert cont.record["continuation"] == 1.0 and plain.record["continuation"] == 0.0


def test_a_cheaper_raise_lowers_the_promotion_odds_in_proportion(space):
    """The best cheap config has posterior odds p of beating the incumbent; with
    promote_pi a little above p it is not promoted when promotion retrains, and is when the
    trainer continues (its raise costs ~95 % of a full run: p >= promote_pi * 0.95)."""
    history, seconds, gp = low_history(space)
    best = space.at_full_fidelity(history.M[[int(np.argmax(history.y))]])
    p = float(_p_improve(space, history, gp, space.encode_matrix(best), "maximize")[0])
    kw = {"direction": "maximize", "promote_pi": p / 0.98}
    assert choose_fidelity(space, best, history, seconds, gp, **kw).reasons == ["gain_per_cost"]
    cont = choose_fidelity(space, best, history, seconds, gp, continuation=1.0, **kw)
    assert cont.reasons == ["promoted"]


def test_continued_rows_are_left_out_of_the_cost_model(space):
    history, seconds, gp = low_history(space)
    M = space.at_full_fidelity(space.to_matrix(space.sample(2, 5)))
    flags = np.zeros(len(history))
    flags[:4] = 0.05  # continued from a level: their seconds are not a from-scratch cost
    choice = choose_fidelity(space, M, history, seconds, gp, continued_from=flags)
    assert choice.record["cost_model_points"] == len(history) - 4


def test_bad_continuation_arguments_are_one_line(space):
    history, seconds, gp = low_history(space)
    M = space.at_full_fidelity(history.M[:1])
    with pytest.raises(ValueError, match=r"^continuation must be in \[0, 1\]"):
        choose_fidelity(space, M, history, seconds, gp, continuation=1.5)
    with pytest.raises(ValueError, match=r"^continued_from: 3 values for 10 evaluated"):
        choose_fidelity(space, M, history, seconds, gp, continued_from=np.zeros(3))
