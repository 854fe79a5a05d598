"""A key given twice in a YAML file the CLI reads (``metarl run``'s config, a ``--focus``
file) is refused by name: YAML keeps the last one silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from metarl.cli import main
from metarl.cli._common import read_yaml
from metarl.cli._main import CliError

RUN = (
    "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
    "budget: 8\nn_init: 2\nexecutor: thread\nstorage: sqlite:///s.db\nbudget: 3\n"
)


def test_run_refuses_a_key_given_twice(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    (tmp_path / "run.yaml").write_text(RUN)
    assert main(["run", "run.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["metarl run: error: run.yaml: invalid YAML: key 'budget' given twice (line 8)"]
    assert not (tmp_path / "s.db").exists()


def test_nested_duplicates_are_refused_and_distinct_keys_pass(tmp_path: Path) -> None:
    f = tmp_path / "f.yaml"
    f.write_text("fixed: {opt: adam}\nranges:\n  x: [0, 1]\n  x: [0, 2]\n")
    with pytest.raises(CliError, match="key 'x' given twice"):
        read_yaml(f)
    f.write_text("base: &b {a: 1}\nmerged:\n  <<: *b\n  c: 2\nlist: [1, 1]\n")
    assert read_yaml(f) == {"base": {"a": 1}, "merged": {"a": 1, "c": 2}, "list": [1, 1]}


def test_an_empty_study_name_is_refused_not_replaced(tmp_path: Path, monkeypatch, capsys) -> None:
    """review 6 F11: ``study_name: ""`` ran under the file's name; only an absent key does."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    run = RUN.replace("budget: 3\n", "study_name: ''\n")
    (tmp_path / "run.yaml").write_text(run.replace("budget: 8", "budget: 3"))
    assert main(["run", "run.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "study_name" in err[0], err
    assert not (tmp_path / "s.db").exists()
