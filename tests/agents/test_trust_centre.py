"""The noise-aware centre of the trust region (``TrustRegion(centre="mean")``): the region is
centred on the evaluated config with the best posterior mean of the round's learner, not on
the best observed value (a lucky draw under noise)."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import LocalSearch
from metarl.agents._trust import TrustRegion, mean_centre_row, region_of
from metarl.learners import LinearLearner
from metarl.space import Categorical, Integer, SearchSpace


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace({"x": Integer(0, 9), "c": Categorical(["a", "b", "c"])})


def _history():
    """y rises with x; x=5 drew a lucky 9.5 (the best observed), x=9 observed 9.0."""
    rows = [({"x": x, "c": c}, float(x)) for x in range(10) for c in ("a", "b")]
    rows = [(cfg, 9.5 if cfg == {"x": 5, "c": "a"} else v) for cfg, v in rows]
    rows = [(cfg, v) for cfg, v in rows if cfg != {"x": 9, "c": "b"}]
    return rows + [({"x": 9, "c": "c"}, 9.0)]


def _learner(space, history):
    X = space.encode([c for c, _ in history])
    y = np.array([v for _, v in history])
    return LinearLearner(target_transform="none").fit(X, y)


def _centre(space, region):
    return space.to_configs(region.centre)[0]


def test_the_mean_centre_is_the_best_predicted_config_not_the_lucky_draw(space):
    history = _history()
    learner = _learner(space, history)
    best = region_of(space, history, "maximize", TrustRegion(warmup=2), learner=learner)
    mean = region_of(
        space, history, "maximize", TrustRegion(warmup=2, centre="mean"), learner=learner
    )
    assert _centre(space, best) == {"x": 5, "c": "a"}  # the best observed value
    assert _centre(space, mean)["x"] == 9  # the linear fit's best mean among evaluated
    assert mean.radius == best.radius  # the schedule counts observed values either way


def test_centre_top_restricts_to_the_best_observed(space):
    history = _history()
    learner = _learner(space, history)
    one = mean_centre_row(space, history, "maximize", learner, top=1)
    assert space.to_configs(one)[0] == {"x": 5, "c": "a"}
    three = mean_centre_row(space, history, "maximize", learner, top=3)  # 9.5, 9.0, 9.0
    assert space.to_configs(three)[0]["x"] == 9
    assert mean_centre_row(space, [], "maximize", learner) is None


def test_without_a_learner_the_mean_centre_is_the_best_observed(space):
    history = _history()
    region = region_of(space, history, "maximize", TrustRegion(warmup=2, centre="mean"))
    assert _centre(space, region) == {"x": 5, "c": "a"}


def test_local_search_centres_its_round_on_the_learners_best_mean(space, monkeypatch):
    """LocalSearch hands its fitted learner to the region: with centre="mean" the round's
    region is centred on the best predicted config, by default on the lucky draw (and the
    default's proposals do not depend on the new settings' code path)."""
    import metarl.agents._local as local

    history = _history()
    learner = _learner(space, history)
    centres = []

    def spy(*args, **kwargs):
        region = region_of(*args, **kwargs)
        centres.append(_centre(space, region))
        return region

    monkeypatch.setattr(local, "region_of", spy)

    def propose(**tr):
        p = LocalSearch(n_initial=64, trust_region=TrustRegion(warmup=2, **tr), seed=0)
        return p.propose(space, learner, 2, direction="maximize", history=history)

    assert propose() == propose(centre="best", centre_top=3)
    propose(centre="mean")
    assert [c["x"] for c in centres] == [5, 5, 9]


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"centre": "posterior"}, "centre"), ({"centre_top": -1}, "centre_top")]
    + [({"centre_top": True}, "centre_top"), ({"centre_top": 1.5}, "centre_top")],
)
def test_bad_centre_settings_are_one_clear_error(kw, match):
    with pytest.raises(ValueError, match=match):
        TrustRegion(**kw)
