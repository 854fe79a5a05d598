"""``choose_fidelity(start=...)``: where a config never evaluated may start. ``"full"`` (the
default) leaves the choice to gain per cost; ``"low"`` keeps it below full; ``"auto"`` (the
ladder) below full only when the trainer continues configs (``continuation > 0``)."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners import GPLearner
from metarl.loop import History
from metarl.loop._fidelity import STARTS, choose_fidelity
from tests.loop import test_fidelity
from tests.loop.test_fidelity import FULL, low_history, value

space = test_fidelity.space  # the fixture, shared


def flat_history(space):
    """An overhead-bound trainer (every level 0.5 s, seen at two levels): without a start
    rule, fresh configs go to full fidelity (the most informative at the same cost)."""
    configs = space.sample(12, 0)
    configs = space.at_fidelity(configs[:6], f=0.05) + space.at_full_fidelity(configs[6:])
    y = np.array([value(c) for c in configs])
    history = History.from_configs(space, configs, y)
    gp = GPLearner(random_state=0).fit(space.encode_matrix(history.M), y)
    return history, np.full(len(history), 0.5), gp


def test_a_fresh_config_starts_below_full_with_a_continuing_trainer_when_asked(space):
    history, seconds, gp = flat_history(space)
    M = space.at_full_fidelity(space.to_matrix(space.sample(3, 2)))
    kw = {"direction": "maximize", "continuation": 0.5, "promote_pi": 1.1}  # no promotion
    today = choose_fidelity(space, M, history, seconds, gp, **kw)
    assert np.allclose(today.fidelity, FULL)  # without the option: straight to full
    assert np.array_equal(
        choose_fidelity(space, M, history, seconds, gp, start="full", **kw).M, today.M
    )
    ladder = choose_fidelity(space, M, history, seconds, gp, start="auto", **kw)
    assert (ladder.fidelity < FULL).all()
    assert set(ladder.reasons) == {"gain_per_cost"}
    # the level below full that gain per cost ranks first
    score = ladder.gain[:, :-1] / ladder.cost[:, :-1]
    levels = space.params["f"].levels()
    np.testing.assert_allclose(ladder.fidelity, levels[np.argmax(score, axis=1)])
    low = choose_fidelity(space, M, history, seconds, gp, start="low", **kw)
    assert np.array_equal(low.M, ladder.M)


def test_auto_is_full_without_continuation_and_low_is_not(space):
    history, seconds, gp = flat_history(space)
    M = space.at_full_fidelity(space.to_matrix(space.sample(3, 2)))
    kw = {"direction": "maximize", "promote_pi": 1.1}
    today = choose_fidelity(space, M, history, seconds, gp, **kw)
    auto = choose_fidelity(space, M, history, seconds, gp, start="auto", **kw)
    assert np.array_equal(auto.M, today.M) and np.allclose(auto.fidelity, FULL)
    low = choose_fidelity(space, M, history, seconds, gp, start="low", **kw)
    assert (low.fidelity < FULL).all()


def test_evaluated_configs_still_climb_and_are_promoted_to_full(space):
    """Only fresh configs are kept below full: a config evaluated at a low level is promoted
    to full fidelity as without the option (the same choice, row for row)."""
    history, seconds, gp = low_history(space)
    worst = int(np.argmin(history.y))
    fresh = space.to_matrix(space.sample(3, 1))
    M = space.at_full_fidelity(np.concatenate([history.M[[worst]], fresh]))
    kw = {"direction": "maximize", "continuation": 1.0}
    today = choose_fidelity(space, M, history, seconds, gp, **kw)
    ladder = choose_fidelity(space, M, history, seconds, gp, start="auto", **kw)
    assert ladder.reasons == today.reasons
    assert "promoted" in ladder.reasons
    promoted = np.array([r == "promoted" for r in ladder.reasons])
    assert np.allclose(ladder.fidelity[promoted], FULL)
    np.testing.assert_array_equal(ladder.M, today.M)  # cheap levels were best anyway here


def test_without_a_learner_start_changes_nothing(space):
    history = History.from_configs(space, [], [])
    M = space.to_matrix(space.sample(4, 1))
    for start in STARTS:
        choice = choose_fidelity(space, M, history, np.zeros(0), start=start, continuation=1.0)
        assert choice.reasons == ["cheapest"] * 4


def test_a_bad_start_is_one_line(space):
    history, seconds, gp = low_history(space)
    M = space.at_full_fidelity(history.M[:1])
    with pytest.raises(ValueError, match=r"^start must be one of \['full', 'low', 'auto'\]"):
        choose_fidelity(space, M, history, seconds, gp, start="ladder")
