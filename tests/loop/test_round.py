"""One refinement round: the design phase, the fit, the proposals and the round's record."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import SearchPolicy, make_policy
from metarl.learners import LinearLearner, evaluate, group_normal_scores, make_learner
from metarl.loop import (
    History,
    TransferData,
    context_label,
    initial_design,
    refine,
    round_seed,
)
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


def _canonical(h: History) -> np.ndarray:
    """The order refine fits the history's rows in (by value, column after column)."""
    return np.lexsort(np.where(np.isnan(h.M), np.inf, h.M).T[::-1])


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
    order = _canonical(h)
    expected = evaluate(LinearLearner(), SPACE.encode_matrix(h.M[order]), h.y[order], cv=5, seed=4)
    assert r.record["cv_spearman"] == round(expected["spearman"], 4)


def test_transfer_targets_are_ranks_within_each_dataset() -> None:
    h = _history(6)
    other = SPACE.with_context(dataset="d2")
    M2 = initial_design(other, 8, np.random.default_rng(1))
    y2 = 100 + 50 * _f(M2)  # another scale: only ranks are comparable
    t = TransferData(other.encode_matrix(M2), y2, np.full(8, context_label({"dataset": "d2"})))
    r = refine(SPACE, h, 2, learner=Recording(), policy=make_policy("exhaustive"), transfer=t)
    groups = np.array(["d2"] * 8 + ["d1"] * 6)
    expected = group_normal_scores(np.concatenate([y2, h.y[_canonical(h)]]), groups)
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


def test_the_fit_and_proposals_do_not_depend_on_the_order_of_the_history() -> None:
    h = _history(12)
    perm = np.random.default_rng(5).permutation(12)
    shuffled = History(h.M[perm], h.y[perm])
    learner = make_learner("gp", n_restarts=1, max_iter=30)
    a = refine(SPACE, h, 3, learner=learner, policy=make_policy("exhaustive"), seed=2)
    b = refine(SPACE, shuffled, 3, learner=learner, policy=make_policy("exhaustive"), seed=2)
    np.testing.assert_array_equal(a.M, b.M)
    X = SPACE.encode_matrix(initial_design(SPACE, 20, np.random.default_rng(6)))
    mu_a, sd_a = a.learner.predict(X, return_std=True)
    mu_b, sd_b = b.learner.predict(X, return_std=True)
    assert (mu_a == mu_b).all() and (sd_a == sd_b).all()  # bitwise, not just close


class _Seeded(SearchPolicy):
    """Proposes unseen configs drawn from its random state, which ``reseed`` resets."""

    def __init__(self) -> None:
        self.seeds: list[int | None] = []
        self.reseed(None)

    def reseed(self, seed: int | None) -> None:
        self.seeds.append(seed)
        self._rng = np.random.default_rng(seed)

    def propose(self, space, learner, n, *, direction="minimize", exclude=(), history=()):
        return space.to_configs(initial_design(space, n, self._rng, space.to_matrix(exclude)))


def test_a_round_depends_on_the_seed_and_history_only() -> None:
    h = _history(8)
    policy = _Seeded()
    first = refine(SPACE, h, 3, learner=LinearLearner(), policy=policy, seed=1)
    refine(SPACE, _history(9, seed=4), 3, learner=LinearLearner(), policy=policy, seed=1)
    again = refine(SPACE, h, 3, learner=LinearLearner(), policy=policy, seed=1)
    np.testing.assert_array_equal(first.M, again.M)  # the round in between changed nothing
    assert policy.seeds[1] == policy.seeds[3] != policy.seeds[2]
    assert policy.seeds[1] == round_seed(1, 8, "policy")
    other = refine(SPACE, h, 3, learner=LinearLearner(), policy=policy, seed=2)
    assert not np.array_equal(first.M, other.M)


def test_unset_random_states_of_the_learner_are_seeded_nested_ones_too() -> None:
    from sklearn.compose import TransformedTargetRegressor

    class Wrapped(TransformedTargetRegressor):
        """A composite learner: its regressor's random_state is a nested parameter."""

        def fit(self, X, y, target_names=None):
            return super().fit(X, y)

    h = _history(10)
    wrapped = Wrapped(regressor=make_learner("forest", n_estimators=5))
    a = refine(SPACE, h, 2, learner=wrapped, policy=make_policy("exhaustive"), seed=3)
    b = refine(SPACE, h, 2, learner=wrapped, policy=make_policy("exhaustive"), seed=3)
    state = a.learner.get_params()["regressor__random_state"]
    assert isinstance(state, int) and state == b.learner.get_params()["regressor__random_state"]
    assert wrapped.get_params()["regressor__random_state"] is None  # the argument is unchanged
    seeds = [
        refine(SPACE, h, 2, learner=make_learner("gp"), policy=make_policy("exhaustive"),
               seed=s).learner.random_state
        for s in (3, 3, 4)
    ]  # fmt: skip
    assert isinstance(seeds[0], int) and seeds[0] == seeds[1] != seeds[2]
