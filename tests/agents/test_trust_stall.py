"""Local search hedged only while stalled (``LocalSearch(hedge="tpe", hedge_after=N)``):
the climb's rounds until N model-based results in a row have not improved the best, then
the hedge's every ``hedge_every``-th round, back to the climb after an improvement."""

from __future__ import annotations

import pytest

from metarl.agents import LocalSearch
from tests.agents.conftest import fit_learner
from tests.agents.test_trust_family import _config, _stuck_history, space  # noqa: F401


def _propose(space, learner, history, n=3, **kw):  # noqa: F811
    p = LocalSearch(n_initial=256, trust_region=True, seed=3, **kw)
    return p.propose(space, learner, n, direction="maximize", history=history)


@pytest.mark.parametrize(
    ("n", "n_stalled", "hedged"),
    [(1, 0, False), (1, 2, False), (1, 3, True), (1, 4, False), (1, 5, True)]
    # batches of 3: stalled 3-5 is the stall's first round, 6-8 its second, 9 its third
    + [(3, 2, False), (3, 3, True), (3, 4, True), (3, 5, True)]
    + [(3, 6, False), (3, 8, False), (3, 9, True)],
)
def test_the_hedge_proposes_only_while_stalled(space, n, n_stalled, hedged):  # noqa: F811
    """hedge_after=3: with one config a round, the rounds after 3, 5, 7 ... results
    without a gain are TPE's (the learner does not change them); with a batch, the first
    round asked with 3 or more and every other round after it. The others are the plain
    climb's."""
    history = _stuck_history(n_stalled)
    a, b = fit_learner(space, seed=0), fit_learner(space, seed=1)
    stall = _propose(space, a, history, n, hedge="tpe", hedge_after=3)
    plain = _propose(space, a, history, n)
    if hedged:
        assert stall == _propose(space, b, history, n, hedge="tpe", hedge_after=3)
        assert stall != plain
        # here the fixed schedule hedges too (rounds 11, 13, ... counted from 10 results)
        assert stall == _propose(space, a, history, n, hedge="tpe")
    else:
        assert stall == plain


def test_an_improvement_returns_to_the_climb(space):  # noqa: F811
    history = _stuck_history(3) + [(_config("svm", 40), 0.95)]  # a new best
    a = fit_learner(space, seed=0)
    assert _propose(space, a, history, hedge="tpe", hedge_after=3) == _propose(space, a, history)
    again = history + [(_config("svm", 41 + i), 0.5) for i in range(3)]  # stalled 3 again
    assert _propose(space, a, again, hedge="tpe", hedge_after=3) != _propose(space, a, again)


def test_bad_hedge_after_is_one_clear_error():
    with pytest.raises(ValueError, match="hedge_after"):
        LocalSearch(hedge="tpe", hedge_after=-1)
