"""``Study(focus=...)``: proposals inside the focus, the learner fitted on every result,
resuming with another focus, and bad foci refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.learners import ForestLearner
from metarl.study import Study
from tests.study._trainers import SPACE, quadratic

optuna.logging.set_verbosity(optuna.logging.WARNING)

FOCUS = {"fixed": {"opt": "sgd"}, "ranges": {"x": [0.0, 2.0]}}


def _study(**kw) -> Study:
    kw.setdefault("learner", ForestLearner(n_estimators=20))
    kw.setdefault("policy", "exhaustive")
    kw.setdefault("executor", "thread")
    return Study(SPACE, quadratic, metric="loss", **kw)


def _in_focus(trials: list) -> list[bool]:
    return [t.params["opt"] == "sgd" and 0.0 <= t.params["x"] <= 2.0 for t in trials]


def test_a_focused_study_proposes_only_inside_and_records_the_focus() -> None:
    s = _study(focus=FOCUS, n_init=4, batch_size=3).optimize(13)
    trials = s.trials()
    assert len(trials) == 13 and all(_in_focus(trials))
    assert s.optuna_study.user_attrs["metarl:settings"]["focus"] == FOCUS
    fitted = [r for r in s.rounds if r["origin"] == "exhaustive"]
    assert fitted and all(r["focus"] == FOCUS for r in s.rounds)
    assert [r["n_train_in_focus"] for r in fitted] == [r["n_train"] for r in fitted]
    assert s.focus is not None and s.focus.parent == SPACE


def test_resumed_with_a_focus_the_learner_fits_on_every_result(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    whole = _study(storage=url, study_name="s", n_init=8, batch_size=4, policy="random")
    whole.optimize(8)
    outside = sum(not inside for inside in _in_focus(whole.trials()))
    assert outside > 0  # the seed's design left the focus: the learner must see those rows

    focused = _study(storage=url, study_name="s", n_init=8, batch_size=4, focus=FOCUS)
    focused.optimize(16)
    new = [t for t in focused.trials() if t.number >= 8]
    assert len(new) == 8 and all(_in_focus(new))
    first = focused.rounds[2]  # rounds 0-1: the whole space's design
    assert first["focus"] == FOCUS and first["n_train"] == 8
    assert first["n_train_in_focus"] == 8 - outside
    assert "focus" not in focused.optuna_study.user_attrs["metarl:settings"]  # created so
    assert "focus" not in whole.rounds[0]


def test_a_restricted_space_is_a_focus_too() -> None:
    s = _study(focus=SPACE.restrict(**FOCUS), n_init=3, batch_size=3).optimize(6)
    assert all(_in_focus(s.trials((TrialState.COMPLETE,))))


@pytest.mark.parametrize(
    ("focus", "message"),
    [
        ({"fixed": {"lr": 0.1}}, "focus: unknown parameter 'lr'"),
        ({"fixed": {"opt": "rmsprop"}}, "focus: parameter 'opt'"),
        ({"ranges": {"x": [1.0, 5.0]}}, "focus: parameter 'x'"),
        ({}, "focus: empty"),
        ({"fixed": {}, "choices": None}, "focus: empty"),
        ({"fixd": {"opt": "sgd"}}, "focus: unknown key 'fixd'"),
        (["opt"], "focus: expected a mapping"),
    ],
)
def test_a_bad_focus_is_one_line_and_writes_nothing(tmp_path: Path, focus, message) -> None:
    db = tmp_path / "bad.db"
    with pytest.raises(ValueError, match=message) as e:
        _study(storage=f"sqlite:///{db}", focus=focus)
    assert len(str(e.value).splitlines()) == 1
    assert not db.exists()
