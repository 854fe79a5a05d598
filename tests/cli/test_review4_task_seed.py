"""Review 4, defect 3: ``metarl run`` with ``task:`` resumes with another ``seed`` (as before
the resume compared a stored trainer's kwargs): the task spec's ``seed`` is the one the CLI
puts there from the run's ``seed`` key, not a ``trainer_kwargs`` the user wrote. A change of
a trainer's own kwargs (``seed`` included) is still refused."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from metarl.cli import main
from metarl.study import _schema as schema
from metarl.study._settings import resumed_differences

RUN = (
    "task: hpolib/naval_propulsion\nbudget: {b}\nn_init: 2\nbatch_size: 1\nexecutor: thread\n"
    "n_workers: 1\nstorage: sqlite:///r.db\nstudy_name: s\nseed: {s}\npolicy: random\n"
)


def test_a_task_run_resumes_with_another_seed(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text(RUN.format(b=3, s=0))
    (tmp_path / "b.yaml").write_text(RUN.format(b=5, s=1))
    assert main(["run", "--no-progress", "a.yaml"]) == 0
    capsys.readouterr()
    assert main(["run", "--no-progress", "b.yaml"]) == 0  # was: rc 2, "trainer_kwargs seed=0"
    assert "trainer_kwargs" not in capsys.readouterr().err
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'r.db'}")
    assert len(study.trials) == 5


def _attrs(kind: str, kwargs: dict) -> dict:
    return {
        schema.TRAINER: {"kind": kind, "name": "m:f", "kwargs": kwargs},
        schema.SETTINGS: {"timeout": None},
    }


@pytest.mark.parametrize("kind", ["import", "trainer"])
def test_a_trainers_own_seed_change_is_still_refused(kind: str) -> None:
    new = {"kind": kind, "name": "m:f", "kwargs": {"seed": 1}}
    differ = resumed_differences(_attrs(kind, {"seed": 0}), {"timeout": None}, new)
    assert differ == "trainer_kwargs seed=0, not 1"


def test_a_tasks_seed_is_not_compared_but_its_name_is() -> None:
    new = {"kind": "task", "name": "m:f", "kwargs": {"seed": 1}}
    assert resumed_differences(_attrs("task", {"seed": 0}), {"timeout": None}, new) is None
    other = {**new, "name": "other"}
    assert "trainer 'm:f', not 'other'" in resumed_differences(
        _attrs("task", {"seed": 0}), {"timeout": None}, other
    )
