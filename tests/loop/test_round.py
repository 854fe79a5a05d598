"""One refinement round: the design phase, the fit, the proposals and the round's record."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import SearchPolicy, make_policy
from metarl.learners import LinearLearner, evaluate, group_normal_scores
from metarl.loop import History, TransferData, context_label, initial_design, refine
from metarl.space import Categorical, Float, SearchSpace

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=11), "opt": Categorical(["a", "b", "c"], ordered=False)},
    context={"dataset": Categorical(["d1", "d2"])},
    context_values={"dataset": "d1"},
)


def _f(M: np.ndarray) -> np.ndarray:
    return (M[:, 0] - 0.3) ** 2 + 0.1 * M[:, 1]


def _history(n: int, seed: int = 0) -> History:
    M = initial_design(SPACE, n, np.random.default_rng(seed))
    return History(M, _f(M))


class Recording(LinearLearner):
    """A real learner that keeps the targets it was fitted on."""

    def fit(self, X, y, **kwargs):
        self.y_fit_ = np.asarray(y)
        return super().fit(X, y, **kwargs)


def test_the_design_comes_first_in_order_and_skips_what_was_seen() -> None:
    design = initial_design(SPACE, 6, np.random.default_rng(3))
    policy = make_policy("exhaustive")
    first = refine(SPACE, History(design[:0], np.empty(0)), 4, learner=LinearLearner(),
                   policy=policy, design=design)  # fmt: skip
    assert first.record["origin"] == "init" and first.learner is None
    np.testing.assert_array_equal(first.M, design[:4])
    # design[4] failed: it counts as seen, so only design[5] is left
    h = History(design[:4], _f(design[:4]), failed=design[4:5])
    second = refine(SPACE, h, 4, learner=LinearLearner(), policy=policy, design=design)
    np.testing.assert_array_equal(second.M, design[5:6])


def test_fits_a_clone_and_proposes_unseen_configs() -> None:
    h = _history(12)
    pending = initial_design(SPACE, 3, np.random.default_rng(9), h.M)
    h.pending = pending
    learner = LinearLearner()
    r = refine(SPACE, h, 5, learner=learner, policy=make_policy("exhaustive"), label="ex")
    assert not hasattr(learner, "coef_"), "the caller's learner is not fitted"
    assert r.learner is not learner and r.learner.n_features_in_ == SPACE.encoded_width
    assert len(r.configs) == 5 and r.M.shape == (5, SPACE.n_columns)
    assert not set(SPACE.keys(r.M)) & set(SPACE.keys(h.seen()))
    rec = r.record
    assert (rec["origin"], rec["n_train"], rec["n_proposed"], rec["cv_spearman"]) == (
        "ex", 12, 5, None,
    )  # fmt: skip
    assert rec["fit_s"] >= 0 and rec["propose_s"] >= 0


def test_learner_quality_is_metarl_learners_evaluate() -> None:
    h = _history(15)
    r = refine(SPACE, h, 1, learner=LinearLearner(), policy=make_policy("exhaustive"),
               cv=5, seed=4)  # fmt: skip
    expected = evaluate(LinearLearner(), SPACE.encode_matrix(h.M), h.y, cv=5, seed=4)
    assert r.record["cv_spearman"] == round(expected["spearman"], 4)


def test_transfer_targets_are_ranks_within_each_dataset() -> None:
    h = _history(6)
    other = SPACE.with_context(dataset="d2")
    M2 = initial_design(other, 8, np.random.default_rng(1))
    y2 = 100 + 50 * _f(M2)  # another scale: only ranks are comparable
    t = TransferData(other.encode_matrix(M2), y2, np.full(8, context_label({"dataset": "d2"})))
    r = refine(SPACE, h, 2, learner=Recording(), policy=make_policy("exhaustive"), transfer=t)
    groups = np.array(["d2"] * 8 + ["d1"] * 6)
    expected = group_normal_scores(np.concatenate([y2, h.y]), groups)
    np.testing.assert_allclose(r.learner.y_fit_, expected)
    assert r.record["n_train"] == 14


def test_model_free_policies_fit_nothing_and_too_little_data_gives_random_configs() -> None:
    r = refine(SPACE, _history(4), 3, learner=LinearLearner(), policy=make_policy("random"))
    assert r.learner is None and r.record["n_train"] == 0 and len(r.M) == 3
    h = _history(1)
    r = refine(SPACE, h, 3, learner=LinearLearner(), policy=make_policy("exhaustive"))
    assert r.record["origin"] == "random" and r.learner is None
    assert len(r.M) == 3 and not set(SPACE.keys(r.M)) & set(SPACE.keys(h.M))


class Repeats(SearchPolicy):
    """Breaks the contract: proposes the first evaluated config again."""

    requires_learner = False

    def propose(self, space, learner, n, *, direction="minimize", exclude=(), history=()):
        return [dict(exclude[0])]


def test_a_policy_proposing_a_seen_config_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="already evaluated"):
        refine(SPACE, _history(3), 1, learner=None, policy=Repeats())
    with pytest.raises(ValueError, match="positive integer"):
        refine(SPACE, _history(3), 0, learner=None, policy=Repeats())
