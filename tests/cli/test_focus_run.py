"""``metarl run`` with a ``focus:`` key: trials inside it, the round table's focus columns,
and bad foci refused in one line with nothing written."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from metarl.cli import main

SPACE = "x: {type: float, low: -2.0, high: 2.0, bins: 9}\nn: {type: integer, low: 1, high: 6}\n"
RUN = (
    "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
    "learner: forest\npolicy: exhaustive\nbudget: 9\nbatch_size: 3\nn_init: 3\n"
    "storage: sqlite:///t.db\nexecutor: thread\n"
)
FOCUS = "focus:\n  ranges: {x: [0.0, 2.0], n: [2, 4]}\n"  # 15 configs of 54


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text(SPACE)
    return tmp_path


def test_run_with_a_focus(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    (workdir / "run.yaml").write_text(RUN + FOCUS)
    assert main(["run", "run.yaml", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "focus {'ranges': {'x': [0.0, 2.0], 'n': [2, 4]}}" in captured.err
    assert "in_focus  cv_focus" in captured.out
    study = optuna.load_study(study_name="run", storage="sqlite:///t.db")
    params = [t.params for t in study.trials]
    assert len(params) == 9 and all(2 <= p["n"] <= 4 and p["x"] >= 0.0 for p in params)
    assert study.user_attrs["metarl:settings"]["focus"] == {
        "ranges": {"x": [0.0, 2.0], "n": [2, 4]}
    }


@pytest.mark.parametrize(
    ("focus", "message"),
    [
        ("focus: {fixed: {lr: 0.1}}\n", "focus: unknown parameter 'lr'"),
        ("focus: {fixed: {n: 9}}\n", "focus: parameter 'n'"),
        ("focus: {ranges: {x: [1.0, 3.0]}}\n", "focus: parameter 'x'"),
        ("focus: {}\n", "focus: empty"),
        ("focus: {fixd: {n: 2}}\n", "focus: unknown key 'fixd'"),
        ("focus: [n]\n", "focus must be a mapping"),
    ],
)
def test_a_bad_focus_is_one_line_exit_2(workdir: Path, capsys, focus: str, message: str) -> None:
    (workdir / "run.yaml").write_text(RUN.replace("t.db", "runs/t.db") + focus)
    assert main(["run", "run.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (workdir / "runs").exists()
