"""The local-search hedge and the family rotation count ROUNDS, whatever the batch size.

``LocalSearch(hedge=..., hedge_every=k)`` proposes with the hedge every k-th round and
``TrustRegion(family_after=N)`` moves to the next family every round; both are derived
from the history and the batch size asked. With one config a round (``MetaRLSampler``)
rounds are results, and the hedged rounds are pinned below as they were before rounds were
counted (a resumed or replayed batch-1 run is unchanged)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import metarl.agents._local as local_module
from metarl.agents import LocalSearch, TrustRegion
from metarl.agents._trust import region_of
from metarl.learners import LinearLearner
from metarl.loop import History, refine
from metarl.space import Categorical, Float, Integer, SearchSpace
from tests.agents.conftest import fit_learner
from tests.agents.test_trust_family import _stuck_history, space  # noqa: F401


@pytest.fixture
def hedged_at(monkeypatch) -> list[int]:
    """The history sizes at which the hedge proposed."""
    calls: list[int] = []
    original = local_module._hedged

    def spy(policy, problem):
        calls.append(len(problem.history))
        return original(policy, problem)

    monkeypatch.setattr(local_module, "_hedged", spy)
    return calls


def _run(space, batch: int, rounds: int, start: list, **kw) -> None:  # noqa: F811
    """``rounds`` rounds of ``batch`` proposals from the ``start`` history; every new
    result is worse than the best (a stalled search)."""
    learner = fit_learner(space)
    policy = LocalSearch(n_initial=64, max_steps=5, trust_region=True, seed=0, **kw)
    history = list(start)
    for _ in range(rounds):
        configs = policy.propose(space, learner, batch, direction="maximize", history=history)
        history += [(c, 0.5) for c in configs]


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        ({"hedge_every": 2}, [11, 13, 15, 17, 19, 21]),  # after an odd number of results
        ({"hedge_every": 3}, [11, 14, 17, 20]),
        ({"hedge_after": 3}, [13, 15, 17, 19, 21]),  # stalled 3, 5, 7, ...
        ({"hedge_after": 4, "hedge_every": 3}, [14, 17, 20]),
    ],
)
def test_batch_one_hedges_the_same_rounds_as_before(space, hedged_at, kw, want):  # noqa: F811
    _run(space, 1, 12, _stuck_history(0), hedge="tpe", **kw)
    assert hedged_at == want


@pytest.mark.parametrize("batch", [2, 4])
@pytest.mark.parametrize("every", [2, 3])
def test_a_batch_hedges_every_kth_round(space, hedged_at, batch, every):  # noqa: F811
    """Batches of 2 or 4 from 10 results: the hedge's rounds are every ``every``-th one
    (before, a result count with batch 2 or 4 never hit ``len % 2 == 1``)."""
    _run(space, batch, 9, _stuck_history(0), hedge="tpe", hedge_every=every)
    rounds = [(n - 10) // batch for n in hedged_at]
    assert rounds == [r for r in range(9) if (10 + r) % every == every - 1]


def test_a_stalled_batch_hedges_every_kth_round(space, hedged_at):  # noqa: F811
    """hedge_after=3 with batches of 4: the first round asked with >= 3 results without a
    gain (stalled 4), then every other round (12, 20); before, stalled had to be 3, 5, 7,
    ... results, which batches of 4 from 4 never hit."""
    _run(space, 4, 6, _stuck_history(0), hedge="tpe", hedge_after=3)
    assert [n - 10 for n in hedged_at] == [4, 12, 20]


def test_batch_two_through_the_loop_hedges_every_other_round(hedged_at):
    """refine (what Study runs) with batch 2: half of the model-based rounds are the
    hedge's (0 of 8 before)."""
    box = SearchSpace({"x": Float(0.0, 1.0, bins=21), "y": Integer(0, 30)})

    def f(c):
        return (c["x"] - 0.6) ** 2 + (c["y"] - 20) ** 2 / 900

    policy = LocalSearch(n_initial=64, trust_region=True, hedge="tpe", seed=0)
    M, y = np.empty((0, box.n_columns)), np.empty(0)
    sizes = []
    while len(y) < 20:
        sizes.append(len(y))
        step = refine(box, History(M, y), 2, learner=LinearLearner(), policy=policy, seed=0)
        M = np.concatenate([M, step.M])
        y = np.concatenate([y, [f(c) for c in step.configs]])
    model_based = [n for n in sizes if n >= hedged_at[0]] if hedged_at else []
    assert hedged_at == model_based[::2] and len(hedged_at) >= 3


def _families() -> SearchSpace:
    return SearchSpace(
        {
            "fam": Categorical(["a", "b"]),
            "p": Float(0.0, 1.0, bins=11, active_if={"fam": "a"}),
            "q": Float(0.0, 1.0, bins=11, active_if={"fam": "b"}),
        }
    )


@pytest.mark.parametrize("batch", [1, 2, 4])
def test_the_rotation_moves_one_family_a_round(batch):
    """Two families, batches of 1, 2 or 4 without a gain: b, a, b, a, ... one a round
    (before, with batch 2 or 4 the rotation stayed on b for good)."""
    fams = _families()
    history = [({"fam": "a", "p": 0.5}, 0.1), ({"fam": "b", "q": 0.5}, 0.5)]
    tr = TrustRegion(family_after=2, warmup=2, fail_tol=100)
    history += [({"fam": "a", "p": 0.9}, 0.9)] * 2  # stalled 2: the rotation's first round
    kept = []
    for _ in range(4):
        region = region_of(fams, history, "minimize", tr, batch=batch)
        kept.append(fams.to_configs(region.centre)[0]["fam"])
        history += [({"fam": "a", "p": 0.9}, 0.9)] * batch
    assert kept == ["b", "a", "b", "a"]


def test_local_search_rotates_per_round_with_a_batch(space):  # noqa: F811
    """family_after=4, batches of 3 (a multiple of the 3 families): stalled 4, 7, 10 are
    the rotation's rounds 0, 1, 2 (tree, knn, svm); before, a result count stayed on tree.
    LocalSearch passes its batch size to the region."""
    learner = fit_learner(space)
    for n_stalled, model in [(4, "tree"), (7, "knn"), (10, "svm")]:
        policy = LocalSearch(n_initial=256, trust_region=TrustRegion(family_after=4), seed=0)
        configs = policy.propose(
            space, learner, 3, direction="maximize", history=_stuck_history(n_stalled)
        )
        assert {c["model"] for c in configs} == {model}, n_stalled


@pytest.mark.parametrize("bad", [1, 0, 2.5, "3", True])
def test_hedge_every_must_be_an_int_of_at_least_two(bad):
    with pytest.raises(ValueError, match=r"^local_search: hedge_every must be an int >= 2"):
        LocalSearch(hedge="tpe", hedge_every=bad)


@pytest.mark.parametrize("bad", [-1, 1.5, "2", 2.0])
def test_hedge_after_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match=r"^local_search: hedge_after must be an int >= 0"):
        LocalSearch(hedge="tpe", hedge_after=bad)


def test_whole_numbers_of_numpy_are_accepted():
    policy = LocalSearch(hedge="tpe", hedge_every=np.int64(3), hedge_after=np.int32(2))
    assert (policy.hedge_every, policy.hedge_after) == (3, 2)
    assert TrustRegion(family_after=np.int64(4)).family_after == 4


@pytest.mark.parametrize("kw", [{"hedge_every": 3}, {"hedge_after": 2}, {"hedge_every": 2}])
def test_hedge_settings_without_a_hedge_are_refused(kw):
    with pytest.raises(ValueError, match="need hedge"):
        LocalSearch(**kw)


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_family_after_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match=r"^trust region: family_after must be an int >= 0"):
        TrustRegion(family_after=bad)
    with pytest.raises(ValueError, match="family_after"):
        LocalSearch(trust_region={"family_after": bad})


def test_family_after_without_a_family_warns_once():
    """A RuntimeWarning (the loop silences policies' UserWarnings), naming the missing
    family parameter; the rotation is then a no-op."""
    flat = SearchSpace({"a": Categorical(["x", "y"]), "b": Integer(1, 9)})
    learner = fit_learner(flat)
    history = [({"a": "x", "b": i}, float(i)) for i in range(1, 10)]
    policy = LocalSearch(n_initial=32, trust_region=TrustRegion(family_after=2), seed=0)
    with pytest.warns(RuntimeWarning, match="family_after=2 .* no family parameter"):
        policy.propose(flat, learner, 1, history=history)
    with pytest.warns(RuntimeWarning, match="family_after"):  # visible through the loop
        fresh = LocalSearch(n_initial=32, trust_region=TrustRegion(family_after=2), seed=0)
        hist = History.from_configs(flat, [c for c, _ in history], [v for _, v in history])
        refine(flat, hist, 1, learner=LinearLearner(), policy=fresh, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy.propose(flat, learner, 1, history=history)  # once per policy
