"""Replicates: the observed incumbent by mean, and the round re-evaluating a lucky-looking one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.learners import GPLearner
from metarl.loop import (
    History,
    Replicates,
    check_replicates,
    n_replicates,
    observed_incumbent,
    recommend,
    refine,
    seen_count,
)
from metarl.loop._transfer import TransferData
from metarl.space import Float, Integer, SearchSpace

LINE = SearchSpace({"x": Float(0.0, 1.0, bins=41)})


def _f(M: np.ndarray) -> np.ndarray:
    return 1.0 + (M[:, 0] - 0.7) ** 2


def _history(lucky: bool, seed: int = 0) -> tuple[History, int]:
    """Every other config of LINE (21 of 41), true value 1 + (x - 0.7)^2: without ``lucky``
    exactly, with it plus a little noise and the worst config (x = 0) drew a value below
    every other observation. Returns the history and the row of x = 0."""
    rng = np.random.default_rng(seed)
    M = LINE.to_matrix([{"x": x} for x in np.linspace(0.0, 1.0, 21)])
    y = _f(M)
    row = int(np.argmin(M[:, 0]))
    if lucky:
        y = y + 0.003 * rng.standard_normal(len(M))
        y[row] = y.min() - 0.05
    return History(M, y), row


def _round(h: History, k: int = 1, replicates=Replicates(), seed: int = 0):  # noqa: B008
    return refine(
        LINE, h, k, learner=GPLearner(), policy=make_policy("exhaustive"), seed=seed,
        replicates=replicates,
    )  # fmt: skip


# ---------------------------------------------------------------- settings


def test_settings_forms() -> None:
    assert check_replicates(None) is None and check_replicates(False) is None
    assert check_replicates(True) == Replicates()
    assert check_replicates(3) == Replicates(max_evals=3)
    assert check_replicates({"z": 0.5}) == Replicates(z=0.5)
    r = Replicates(max_evals=4, z=2.0)
    assert check_replicates(r) is r and Replicates(**r.to_dict()) == r


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1, "max_evals must be an integer >= 2, got 1"),
        ({"max_evals": 2.5}, "max_evals must be an integer >= 2"),
        ({"z": -1}, "z must be a finite number >= 0, got -1"),
        ({"z": math.nan}, "z must be a finite number >= 0"),
        ({"z": math.inf}, "z must be a finite number >= 0"),
        ({"zz": 1}, r"unknown key\(s\) \['zz'\]"),
        ("often", "replicates='often': expected None, True, an integer"),
    ],
)
def test_bad_settings_are_one_line_errors(value, match) -> None:
    with pytest.raises(ValueError, match=match) as err:
        check_replicates(value)
    assert "\n" not in str(err.value)


def test_refine_refuses_a_bad_setting_before_fitting() -> None:
    h, _ = _history(lucky=True)
    with pytest.raises(ValueError, match="max_evals must be an integer >= 2"):
        _round(h, replicates=1)


# ---------------------------------------------------------------- incumbent by mean


def test_the_incumbent_is_the_best_mean_over_a_configs_evaluations() -> None:
    M = LINE.to_matrix([{"x": 0.0}, {"x": 0.5}, {"x": 0.0}, {"x": 0.25}])
    y = np.array([0.10, 0.20, 0.40, 0.22])  # x=0: 0.10 then 0.40, mean 0.25
    assert observed_incumbent(LINE, M, y, "minimize") == (1, pytest.approx(0.20), 1)
    # maximised, x = 0's mean 0.25 beats 0.22 and 0.20: its first row, two evaluations
    assert observed_incumbent(LINE, M, y, "maximize") == (0, pytest.approx(0.25), 2)
    # without repeats it is the best observed value, as before
    y3 = np.array([0.3, 0.1, 0.2])
    assert observed_incumbent(LINE, M[[0, 1, 3]], y3, "minimize") == (1, 0.1, 1)
    assert n_replicates(LINE, M) == 1 and n_replicates(LINE, M[[0, 1, 3]]) == 0
    with pytest.raises(ValueError, match="no evaluated config"):
        observed_incumbent(LINE, M[:0], y[:0])


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_rule_replicates_a_planted_lucky_draw(seed: int) -> None:
    h, lucky = _history(lucky=True, seed=seed)
    step = _round(h, seed=seed)
    np.testing.assert_array_equal(step.M, h.M[[lucky]])
    assert step.replicate_of == [lucky]
    assert step.configs == [{"x": 0.0}]
    assert step.record["n_replicates"] == 1 and step.record["n_proposed"] == 1
    rep = step.record["replicate"]
    assert rep["row"] == lucky and rep["n_evals"] == 1 and rep["luck"] > 1.0
    assert rep["predicted"] > rep["mean"]  # the learner expects worse than observed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_rule_stays_quiet_on_a_clean_history(seed: int) -> None:
    h, _ = _history(lucky=False, seed=seed)
    step = _round(h, seed=seed)
    assert step.replicate_of == [None] and step.record["n_replicates"] == 0
    assert "replicate" not in step.record
    assert len(set(LINE.keys(step.M)) & set(LINE.keys(h.M))) == 0  # a new config


def test_a_replicate_comes_first_and_the_policy_proposes_the_rest() -> None:
    h, lucky = _history(lucky=True)
    step = _round(h, k=3)
    assert step.replicate_of == [lucky, None, None]
    np.testing.assert_array_equal(step.M[0], h.M[lucky])
    fresh = LINE.keys(step.M[1:])
    assert len(set(fresh)) == 2 and not set(fresh) & set(LINE.keys(h.M))
    # the policy alone, asked for the two others, proposes the same two
    alone = _round(h, k=2, replicates=None)
    np.testing.assert_array_equal(step.M[1:], alone.M)


def test_no_more_than_max_evals_pending_included() -> None:
    h, lucky = _history(lucky=True)
    pending = History(h.M, h.y, pending=h.M[[lucky]])
    assert _round(pending).replicate_of == [None]  # its replicate is on its way
    assert _round(pending, replicates=3).replicate_of == [lucky]
    # two lucky evaluations: replicated up to max_evals=3, not at max_evals=2
    twice = History(np.concatenate([h.M, h.M[[lucky]]]), np.append(h.y, h.y[lucky]))
    assert observed_incumbent(LINE, twice.M, twice.y)[0] == lucky
    assert _round(twice, replicates={"z": 0.0}).replicate_of == [None]
    assert _round(twice, replicates={"max_evals": 3, "z": 0.0}).replicate_of == [lucky]


def test_a_high_z_never_fires() -> None:
    h, _ = _history(lucky=True)
    assert _round(h, replicates={"z": 1e6}).replicate_of == [None]


def test_off_by_default_and_unchanged() -> None:
    h, _ = _history(lucky=True)
    off = refine(LINE, h, 2, learner=GPLearner(), policy=make_policy("exhaustive"), seed=4)
    none = _round(h, k=2, replicates=None, seed=4)
    assert off.replicate_of == [None, None] and "n_replicates" not in off.record
    np.testing.assert_array_equal(off.M, none.M)


def test_a_seeded_round_replays_and_the_seed_counts_replicates() -> None:
    h, lucky = _history(lucky=True)
    a, b = _round(h, k=2), _round(h, k=2)
    np.testing.assert_array_equal(a.M, b.M)
    assert a.record["replicate"] == b.record["replicate"]
    # the history after the replicate: one config seen twice; the next round's seed moves on
    after = History(np.concatenate([h.M, a.M[:1]]), np.append(h.y, 0.5))
    assert seen_count(LINE, after) == seen_count(LINE, h) + 1
    assert seen_count(LINE, h) == len(h)


def test_a_replicate_that_falls_back_dethrones_the_lucky_draw() -> None:
    h, lucky = _history(lucky=True)
    truth = float(_f(h.M[[lucky]])[0])  # 1.49: far from the best
    after = History(np.concatenate([h.M, h.M[[lucky]]]), np.append(h.y, truth))
    row, mean, n = observed_incumbent(LINE, after.M, after.y)
    assert row != lucky and n == 1
    # every row is fitted (the repeated one too), and the recommendation is still a row
    rec = recommend(LINE, after, GPLearner(), seed=0)
    assert 0 <= rec < len(after) and rec != lucky


# ---------------------------------------------------------------- review fixes


def test_a_config_with_a_failed_evaluation_is_never_replicated() -> None:
    # a failed (or pruned) replicate used to come back every round, forever
    h, lucky = _history(lucky=True)
    assert _round(h).replicate_of == [lucky]
    failed = History(h.M, h.y, failed=h.M[[lucky]])
    step = _round(failed)
    assert step.replicate_of == [None] and step.record["n_replicates"] == 0
    assert LINE.keys(step.M)[0] not in set(LINE.keys(h.M))  # a new config instead
    assert _round(failed, replicates=5).replicate_of == [None]


@pytest.mark.parametrize("policy", ["random", "evolution", "tpe"])
def test_a_policy_without_a_learner_is_refused(policy: str) -> None:
    h, _ = _history(lucky=True)
    with pytest.raises(ValueError, match=f"policy '{policy}': replicates need a model") as err:
        refine(
            LINE, h, 1, learner=GPLearner(), policy=make_policy(policy), replicates=True,
            label=policy,
        )  # fmt: skip
    assert "\n" not in str(err.value)
    # without replicates the same round runs
    refine(LINE, h, 1, learner=GPLearner(), policy=make_policy(policy), label=policy)


def test_transfer_data_is_refused() -> None:
    # the learner fits normal scores across datasets: no scale to compare the mean with
    h, _ = _history(lucky=True)
    X = LINE.encode_matrix(h.M[:3])
    data = TransferData(X, np.ones(3), np.array(["other"] * 3))
    with pytest.raises(ValueError, match="replicates: not supported with transfer data") as err:
        refine(
            LINE, h, 1, learner=GPLearner(), policy=make_policy("exhaustive"), transfer=data,
            replicates=2,
        )  # fmt: skip
    assert "\n" not in str(err.value)


# a history holding one config twice with replicates off (a sampler's random startup, an
# enqueued duplicate); proposals pinned from the code before replicates (afe120d)
DUP = SearchSpace({"x": Float(0.0, 1.0, bins=41), "y": Integer(0, 30)})
PINNED = {
    "evolution": [
        {"x": 0.15000000000000002, "y": 0},
        {"x": 0.35000000000000003, "y": 24},
        {"x": 0.225, "y": 21},
    ],
    "local_search": [
        {"x": 0.525, "y": 15},
        {"x": 0.47500000000000003, "y": 16},
        {"x": 0.55, "y": 14},
    ],
}


def _duplicated() -> History:
    rng = np.random.default_rng(0)
    grid = np.linspace(0, 1, 41)
    cfgs = [{"x": float(rng.choice(grid)), "y": int(rng.integers(31))} for _ in range(12)]
    cfgs.append(dict(cfgs[0]))
    y = np.array([(c["x"] - 0.6) ** 2 + (c["y"] - 20) ** 2 / 900 for c in cfgs])
    return History.from_configs(DUP, cfgs, y + 0.01 * rng.standard_normal(len(cfgs)))


@pytest.mark.parametrize("policy", sorted(PINNED))
def test_off_a_duplicated_history_proposes_as_before(policy: str) -> None:
    h = _duplicated()
    step = refine(DUP, h, 3, learner=GPLearner(), policy=make_policy(policy), seed=7)
    assert step.configs == PINNED[policy]
    assert recommend(DUP, h, GPLearner(), seed=7) == 8
    assert seen_count(DUP, h, replicates=False) == 12 and seen_count(DUP, h) == 13
