"""A SQLite URL without a file name (``sqlite:///``) would keep the study in memory and
store nothing: ``metarl run`` and the reading commands refuse it in one line."""

from __future__ import annotations

import pytest

from metarl.cli import main


def test_run_refuses_sqlite_without_a_file_name(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    (tmp_path / "run.yaml").write_text(
        "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
        "budget: 3\nn_init: 3\nexecutor: thread\nstorage: 'sqlite:///'\nstudy_name: s\n"
    )
    assert main(["run", "run.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'sqlite:///': no database file" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.yaml", "space.yaml"]


@pytest.mark.parametrize("command", ["status", "best", "worker"])
def test_readers_refuse_sqlite_without_a_file_name(capsys, command) -> None:
    assert main([command, "--storage", "sqlite:///", "--study", "s"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no database file" in err[0]
