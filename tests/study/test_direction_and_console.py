"""What a Study says when it starts: the direction it optimises and why (read from the
metric's name as ``metarl learner fit`` reads it), and no Optuna INFO lines."""

from __future__ import annotations

import logging

import optuna
import pytest

from metarl.learners import ForestLearner
from metarl.study import Study
from metarl.study._direction import resolve_direction
from tests.study._trainers import SPACE, quadratic


def _study(**kw) -> Study:
    return Study(SPACE, quadratic, learner=ForestLearner(n_estimators=5), policy="random", **kw)


@pytest.mark.parametrize(
    ("metric", "direction", "why"),
    [
        ("cv_acc", "maximize", "'acc' in its name"),
        ("val_loss", "minimize", "'loss' in its name"),
        ("neg_mean_squared_error", "maximize", "'neg' and 'error' in its name"),
        ("value", "minimize", "its name does not say which way is better; Optuna's default"),
    ],
)
def test_the_direction_is_read_from_the_name_and_said(
    capsys: pytest.CaptureFixture, metric: str, direction: str, why: str
) -> None:
    s = _study(metric=metric)
    assert s.direction == direction
    assert s.optuna_study.direction.name.lower() == direction
    other = "maximize" if direction == "minimize" else "minimize"
    err = capsys.readouterr().err.splitlines()
    assert err == [f"metarl: {direction} {metric!r} ({why}); pass direction={other!r} to change"]


def test_a_given_direction_is_used_silently(capsys: pytest.CaptureFixture) -> None:
    assert _study(metric="cv_acc", direction="minimize").direction == "minimize"
    assert capsys.readouterr().err == ""


class _Trainer:
    """A trainer that declares its metric's direction (as metarl's sklearn trainer does)."""

    space = SPACE
    metric = "score_time"  # the name alone says nothing (both kinds of words)
    direction = "maximize"

    def __call__(self, config: dict) -> dict:
        return {"score_time": 1.0, "val_loss": 2.0}


def test_the_trainers_direction_holds_for_its_own_metric_only() -> None:
    assert resolve_direction(None, _Trainer(), "score_time") == ("maximize", "the trainer's")
    # another metric of its results: the name decides
    assert resolve_direction(None, _Trainer(), "val_loss") == ("minimize", "'loss' in its name")
    assert resolve_direction("minimize", _Trainer(), "score_time") == ("minimize", None)
    assert resolve_direction(None, None, "mystery") is None


def test_no_optuna_info_line_and_the_users_level_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    optuna.logging.enable_propagation()  # Optuna's records reach caplog
    try:
        with caplog.at_level(logging.INFO, logger="optuna"):
            optuna.create_study()  # the line a plain Optuna study prints
            assert any("A new study created" in r.getMessage() for r in caplog.records)
            caplog.clear()
            _study(metric="loss", direction="minimize", study_name="quiet")
            assert not [r.getMessage() for r in caplog.records if r.name.startswith("optuna")]
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(before)


def test_a_resumed_study_keeps_its_stored_direction(tmp_path, capsys) -> None:
    """Resuming without a direction takes the stored study's, not the name's rule (which
    would refuse: 'exists with direction maximize, not minimize')."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    first = _study(metric="value", direction="maximize", storage=url, study_name="d")
    first.optimize(4)
    capsys.readouterr()
    again = _study(metric="value", storage=url, study_name="d")
    assert again.direction == "maximize"
    assert "maximize 'value' (the stored study's)" in capsys.readouterr().err
    assert len(again.optimize(6).trials()) == 6
