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


def _many_past(n_per: int) -> TransferData:
    parts = [_past("d2", 1.0), _past("d3", 0.5)]
    reps = -(-n_per // 30)
    return TransferData(
        np.concatenate([np.tile(p.X, (reps, 1))[:n_per] for p in parts]),
        np.concatenate([np.tile(p.y, reps)[:n_per] for p in parts]),
        np.concatenate([np.tile(p.groups, reps)[:n_per] for p in parts]),
    )


def test_transfer_learner_keeps_a_pooled_gp_up_to_the_bound_then_fits_rgpe() -> None:
    from metarl._defaults import TRANSFER_POOLED_MAX
    from metarl.learners import GPLearner, make_learner
    from metarl.loop import transfer_learner

    gp = GPLearner(nu=1.5, n_restarts=1, random_state=3)
    assert transfer_learner(gp, TRANSFER_POOLED_MAX) == (gp, None)
    replaced, reason = transfer_learner(gp, TRANSFER_POOLED_MAX + 1)
    assert isinstance(replaced, RGPE) and reason is not None and "TRANSFER_POOLED_MAX" in reason
    assert (replaced.nu, replaced.n_restarts, replaced.random_state) == (1.5, 1, 3)
    assert replaced.get_params()["stack"] is RGPE().stack  # RGPE's own settings otherwise
    forest = make_learner("forest")
    assert transfer_learner(forest, 10**6) == (forest, None)  # no O(n^3) fit to avoid

    class MyGP(GPLearner):
        pass

    mine = MyGP()
    assert transfer_learner(mine, 10**6) == (mine, None)  # a subclass is the user's choice


def test_round_fits_rgpe_instead_of_a_pooled_gp_beyond_the_bound(monkeypatch) -> None:
    import metarl.loop._transfer as transfer_module
    from metarl.learners import GPLearner

    monkeypatch.setattr(transfer_module, "TRANSFER_POOLED_MAX", 50)
    M = initial_design(SPACE, 8, np.random.default_rng(0))
    args = dict(learner=GPLearner(), policy=make_policy("exhaustive"), seed=1)
    small = refine(SPACE, History(M, _f(M)), 2, transfer=_many_past(25), **args)
    assert isinstance(small.learner, GPLearner) and "learner" not in small.record
    large = refine(SPACE, History(M, _f(M)), 2, transfer=_many_past(40), **args)
    assert isinstance(large.learner, RGPE)
    assert large.record["learner"].startswith("rgpe: 80 transfer rows")
    assert len(large.learner.past_groups_) == 2  # each dataset a past GP of its own
    again = refine(SPACE, History(M, _f(M)), 2, transfer=_many_past(40), **args)
    np.testing.assert_array_equal(again.M, large.M)  # seeded like any round
