"""The loop's fidelity choice: gain per predicted second, promotion to full fidelity."""

from __future__ import annotations

import numpy as np
import pytest

from metarl import SpaceError
from metarl.learners import GPLearner
from metarl.loop import History
from metarl.loop._fidelity import (
    CostModel,
    check_fidelity_learner,
    check_fidelity_policy,
    choose_fidelity,
    full_fidelity_rows,
    loop_fidelity,
)
from metarl.space import Categorical, Fidelity, Float, SearchSpace

LOW, FULL = 0.05, 1.0


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace(
        {
            "x": Float(0.0, 1.0, bins=20),
            "m": Categorical(["a", "b"]),
            "f": Fidelity(LOW, FULL, log=True),
        }
    )


def value(config: dict) -> float:
    """A smooth task whose low fidelities are biased down but rank configs alike."""
    bonus = 0.1 if config["m"] == "a" else 0.0
    return -((config["x"] - 0.7) ** 2) + bonus + 0.05 * np.log(config["f"])


def low_history(
    space: SearchSpace, n: int = 10, f: float = LOW
) -> tuple[History, np.ndarray, GPLearner]:
    """``n`` configs evaluated at level ``f`` (the lowest by default), seconds proportional
    to the fidelity, and the GP fitted on them (as the round fits it)."""
    configs = space.at_fidelity(space.sample(n, 0), f=f)
    y = np.array([value(c) for c in configs])
    history = History.from_configs(space, configs, y)
    seconds = 2.0 * history.M[:, space.column_slices["f"].start]
    gp = GPLearner(random_state=0).fit(space.encode_matrix(history.M), y)
    return history, seconds, gp


def test_without_a_learner_every_proposal_is_cheapest(space):
    history = History.from_configs(space, [], [])
    M = space.to_matrix(space.sample(4, 1))
    choice = choose_fidelity(space, M, history, np.zeros(0))
    assert np.allclose(choice.fidelity, LOW)
    assert choice.reasons == ["cheapest"] * 4
    assert np.allclose(choice.M[:, space.column_slices["f"].start], LOW)


def test_cheap_levels_are_chosen_early(space):
    """After a few cheap results, fresh configs go to one of the two cheapest levels (of
    four): their gain is a good part of full fidelity's, their cost a twentieth to a
    seventh. (With promotions off: none is likely enough to beat the incumbent.)"""
    history, seconds, gp = low_history(space)
    M = space.at_full_fidelity(space.to_matrix(space.sample(5, 1)))
    choice = choose_fidelity(space, M, history, seconds, gp, direction="maximize", promote_pi=1.1)
    levels = space.params["f"].levels()
    assert (choice.fidelity <= levels[1] + 1e-12).all()
    assert set(choice.reasons) == {"gain_per_cost"}
    # gain grows with the fidelity, and so does the predicted cost, faster
    assert (np.diff(choice.gain, axis=1) >= -1e-9).all()
    assert (np.diff(choice.cost, axis=1) > 0).all()
    assert sum(choice.record["fidelity_counts"].values()) == 5


def test_promising_low_fidelity_configs_are_promoted_to_full(space):
    """The evaluated cheap configs most likely to beat the incumbent take the places of the
    round's last proposals (half the batch), at full fidelity, best first; a poor config
    proposed again is not promoted, it climbs one level."""
    history, seconds, gp = low_history(space)
    worst = int(np.argmin(history.y))
    fresh = space.to_matrix(space.sample(3, 1))
    M = space.at_full_fidelity(np.concatenate([history.M[[worst]], fresh]))
    choice = choose_fidelity(space, M, history, seconds, gp, direction="maximize")
    assert choice.reasons == ["gain_per_cost", "gain_per_cost", "promoted", "promoted"]
    assert LOW < choice.fidelity[0] < FULL
    assert np.allclose(choice.fidelity[2:], FULL)
    best = space.at_full_fidelity(history.M[[int(np.argmax(history.y))]])
    assert space.keys(choice.M[2:3]) == space.keys(best)
    assert choice.record["n_promoted"] == 2
    # a promising config the acquisition proposes again is promoted in place
    again = choose_fidelity(space, best, history, seconds, gp, direction="maximize")
    assert again.reasons == ["promoted"] and space.keys(again.M) == space.keys(best)


def test_promotion_follows_the_direction(space):
    """Minimising the same values, the worst config is the promising one."""
    history, seconds, _ = low_history(space)
    gp = GPLearner(random_state=0).fit(space.encode_matrix(history.M), history.y)
    worst = int(np.argmin(history.y))
    M = space.at_full_fidelity(history.M[[worst]])
    choice = choose_fidelity(space, M, history, seconds, gp, direction="minimize")
    assert choice.reasons == ["promoted"]


def test_when_cost_does_not_depend_on_fidelity_full_fidelity_wins(space):
    """An overhead-bound trainer (every level takes 0.5 s, seen at two levels): the cost
    model learns it, and full fidelity, the most informative, wins."""
    configs = space.sample(12, 0)
    configs = space.at_fidelity(configs[:6], f=LOW) + space.at_full_fidelity(configs[6:])
    y = np.array([value(c) for c in configs])
    history = History.from_configs(space, configs, y)
    gp = GPLearner(random_state=0).fit(space.encode_matrix(history.M), y)
    flat = np.full(len(history), 0.5)
    M = space.at_full_fidelity(space.to_matrix(space.sample(3, 2)))
    choice = choose_fidelity(space, M, history, flat, gp, direction="maximize")
    assert np.allclose(choice.fidelity, FULL)


def test_a_level_seen_for_a_config_is_never_chosen_again(space):
    """A config pending at the lowest level goes to the next level up."""
    history, seconds, gp = low_history(space)
    fresh = space.at_fidelity(space.sample(1, 3), f=LOW)
    pending = History.from_configs(space, history.configs(space), history.y, pending=fresh)
    M = space.at_full_fidelity(space.to_matrix(fresh))
    choice = choose_fidelity(space, M, pending, seconds, gp, direction="maximize")
    assert choice.fidelity[0] > LOW
    assert space.keys(choice.M)[0] not in set(space.keys(pending.seen()))


def test_cost_model_learns_the_seconds(space):
    history, seconds, _ = low_history(space)
    model = CostModel(space, "f")
    M_full = space.at_full_fidelity(history.M)
    assert np.allclose(model.predict(M_full), 1.0)  # before a fit: relative cost
    assert np.allclose(model.predict(history.M), LOW)
    model.fit(history.M, 3.0 * seconds / 2.0)  # 3 s at full fidelity
    assert model.n_fit_ == len(history)
    assert np.allclose(model.predict(M_full), 3.0, rtol=0.05)
    # too few, or unusable, seconds: the prior stays
    assert model.fit(history.M[:2], seconds[:2]).predict(M_full[:1])[0] == pytest.approx(1.0)
    nan = np.full(len(history), np.nan)
    assert model.fit(history.M, nan).n_fit_ == 0


def test_full_fidelity_rows(space):
    M = space.to_matrix(space.sample(3, 4))
    M[1, space.column_slices["f"].start] = LOW
    assert full_fidelity_rows(space, M).tolist() == [True, False, True]


def test_one_loop_fidelity_at_most():
    two = SearchSpace({"a": Fidelity(1, 10), "b": Fidelity(0.1, 1.0)})
    with pytest.raises(ValueError, match=r"^fidelities \['a', 'b'\]: the loop chooses one"):
        loop_fidelity(two)
    searched = SearchSpace({"a": Fidelity(1, 10), "b": Fidelity(0.1, 1.0, search=True)})
    assert loop_fidelity(searched) == "a"
    assert loop_fidelity(SearchSpace({"x": Float(0.0, 1.0)})) is None


def test_a_fidelity_outside_its_range_is_a_one_line_error(space):
    config = {"x": 0.5, "m": "a", "f": 2.0}
    with pytest.raises(SpaceError) as e:
        History.from_configs(space, [config], [0.0])
    assert "'f'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(SpaceError, match="f"):
        space.at_fidelity(space.to_matrix(space.sample(1, 0)), f=0.01)


def test_seconds_must_match_the_history(space):
    history, seconds, gp = low_history(space)
    with pytest.raises(ValueError, match=r"^seconds: 3 values for 10 evaluated configs$"):
        choose_fidelity(space, history.M[:1], history, seconds[:3], gp)


def test_only_a_gp_can_weigh_fidelities():
    from metarl.learners import make_learner

    check_fidelity_learner(GPLearner())
    with pytest.raises(ValueError, match=r"needs learner 'gp'"):
        check_fidelity_learner(make_learner("forest"))


@pytest.mark.parametrize("name", ["random", "evolution", "tpe", "gp"])
def test_a_model_free_policy_is_refused(name):
    # without a fitted learner every proposal after the initial design went to the
    # cheapest level, and nothing was ever promoted
    from metarl.agents import make_policy

    with pytest.raises(ValueError, match=rf"^policy '{name}': a space with a Fidelity needs"):
        check_fidelity_policy(make_policy(name))


def test_a_policy_using_the_learner_is_accepted():
    from metarl.agents import make_policy

    check_fidelity_policy(make_policy("local_search"))


@pytest.mark.parametrize("n_full", [0, 4])
def test_promotion_odds_do_not_depend_on_the_metric_scale(space, n_full):
    """Under a rank target transform the GP sees only the order of the values, so a
    monotone distortion of the metric (exp(20 y)) must not change the probability of beating
    the incumbent. On the metric scale (mean and std mapped back separately) it did."""
    from metarl.loop._fidelity import _p_improve

    configs = space.sample(12, 0)
    configs = space.at_fidelity(configs[n_full:], f=LOW) + space.at_full_fidelity(configs[:n_full])
    y = np.array([value(c) for c in configs])
    X_full = space.encode_matrix(space.at_full_fidelity(space.to_matrix(space.sample(6, 1))))
    pi = []
    for ys in (y, np.exp(20.0 * y)):
        history = History.from_configs(space, configs, ys)
        gp = GPLearner(target_transform="rank", random_state=0)
        gp.fit(space.encode_matrix(history.M), ys)
        pi.append(_p_improve(space, history, gp, X_full, "maximize"))
    assert np.allclose(pi[0], pi[1], atol=1e-6)
    assert np.ptp(pi[0]) > 0.01  # not all 0 or 1: the comparison means something


def test_the_cost_model_is_fitted_once_per_choice(space, monkeypatch):
    history, seconds, gp = low_history(space)
    fits = []
    fit = CostModel.fit
    monkeypatch.setattr(CostModel, "fit", lambda self, *a: fits.append(1) or fit(self, *a))
    M = space.at_full_fidelity(space.to_matrix(space.sample(3, 1)))
    choice = choose_fidelity(space, M, history, seconds, gp, direction="maximize")
    assert len(fits) == 1 and choice.cost.shape == (3, len(space.params["f"].levels()))
