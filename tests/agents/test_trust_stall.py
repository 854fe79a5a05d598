"""Local search hedged only while stalled (``LocalSearch(hedge="tpe", hedge_after=N)``):
the climb's rounds until N model-based results in a row have not improved the best, then
the hedge's every ``hedge_every``-th round, back to the climb after an improvement."""

from __future__ import annotations

import pytest

from metarl.agents import LocalSearch
from tests.agents.conftest import fit_learner
from tests.agents.test_trust_family import _config, _stuck_history, space  # noqa: F401


def _propose(space, learner, history, **kw):  # noqa: F811
    p = LocalSearch(n_initial=256, trust_region=True, seed=3, **kw)
    return p.propose(space, learner, 3, direction="maximize", history=history)


@pytest.mark.parametrize(
    ("n_stalled", "hedged"), [(0, False), (2, False), (3, True), (4, False), (5, True)]
)
def test_the_hedge_proposes_only_while_stalled(space, n_stalled, hedged):  # noqa: F811
    """hedge_after=3: the rounds after 3, 5, 7 ... results without a gain are TPE's (the
    learner does not change them); the others are the plain climb's."""
    history = _stuck_history(n_stalled)
    a, b = fit_learner(space, seed=0), fit_learner(space, seed=1)
    stall = _propose(space, a, history, hedge="tpe", hedge_after=3)
    plain = _propose(space, a, history)
    if hedged:
        assert stall == _propose(space, b, history, hedge="tpe", hedge_after=3)
        assert stall != plain
        # the fixed schedule would hedge after an odd number of results only
        assert stall == _propose(space, a, history, hedge="tpe")
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
