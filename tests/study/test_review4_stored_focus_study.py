"""Review 4, defect 1: a study stored before today's focus rule (its space focuses a
conditional parameter without its parent) is read, served and resumed as stored; a study
whose stored space does not match its stored fingerprint is refused as a space mismatch,
never as "not a metarl study ... delete it"."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.cli import main
from metarl.study import StorageError, Study
from metarl.study import _schema as schema
from tests.space.test_review4_stored_focus import _literal
from tests.study._small import small_study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _loss(c: dict) -> dict:
    return {"loss": c["x"] + c.get("w3", 0.0) + c.get("C", 0.0)}


def _study(url: str, space, budget: int) -> Study:
    s = Study(
        space, _loss, metric="loss", direction="minimize", storage=url, study_name="s",
        policy="random", executor="thread", n_workers=1, n_init=2, batch_size=1,
    )  # fmt: skip
    return s.optimize(budget)


@pytest.mark.parametrize(("child", "parent"), [("w3", "depth"), ("C", "model")])
def test_a_study_stored_before_the_rule_is_read_and_resumed(
    tmp_path: Path, child: str, parent: str, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    old = _literal(child, parent)
    _study(url, old, 3)
    assert main(["status", "--storage", url, "--study", "s"]) == 0
    assert main(["best", "--storage", url, "--study", "s"]) == 0
    capsys.readouterr()
    s = _study(url, old, 5)  # was: "not a metarl study ... delete it"
    assert len(s.trials((TrialState.COMPLETE,))) == 5


def test_a_stored_space_off_its_fingerprint_is_a_space_mismatch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    small_study(url, study_name="r").optimize(2)
    stored = optuna.load_study(study_name="r", storage=url)
    stored.set_user_attr(schema.FINGERPRINT, "0123abcd")  # as another metarl's rules would
    with pytest.raises(StorageError) as e:
        small_study(url, study_name="r")
    msg = str(e.value)
    assert "different space" in msg and "0123abcd" in msg and "use another study_name" in msg
    assert "not a metarl study" not in msg and "delete" not in msg
