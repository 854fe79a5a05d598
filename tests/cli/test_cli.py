"""The metarl CLI: run/status/best on a tiny study, and one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from metarl.cli import main

SPACE = "x: {type: float, low: -2.0, high: 2.0, bins: 9}\nn: {type: integer, low: 1, high: 6}\n"
RUN = (
    "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
    "learner: forest\npolicy: random\nbudget: 6\nbatch_size: 3\nn_init: 3\n"
    "storage: sqlite:///t.db\nexecutor: thread\n"
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text(SPACE)
    (tmp_path / "run.yaml").write_text(RUN)
    return tmp_path


def test_run_status_best(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "run.yaml", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "best loss" in out and "results: sqlite:///t.db" in out
    assert main(["status", "--storage", "sqlite:///t.db", "--study", "run"]) == 0
    assert "done 6/6" in capsys.readouterr().out
    assert main(["best", "--storage", "sqlite:///t.db", "--study", "run", "--json"]) == 0
    assert '"config"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("space: [unclosed\n", "invalid YAML"),
        (RUN + "bogus: 1\n", "unknown key(s) ['bogus']"),
        (RUN.replace("policy: random", "policy: nope"), "unknown policy 'nope'"),
        (RUN.replace("learner: forest", "learner: nope"), "nope"),
        (RUN.replace("tests.study._trainers:quadratic", "no_such_trainer"), "no_such_trainer"),
        # no server there ("cannot be opened"), or no driver installed ("driver is
        # missing"): either way the one line names the storage
        (
            RUN.replace("sqlite:///t.db", "postgresql://u@127.0.0.1:1/db"),
            "storage 'postgresql://u@127.0.0.1:1/db'",
        ),
        (RUN.replace("sqlite:///t.db", "t.db"), "expected an RDB URL"),
        (RUN.replace("budget: 6", "budget: six"), "budget must be an integer"),
        (RUN.replace("budget: 6", "budget: -5"), "budget must be positive, got -5"),
        (RUN.replace("executor: thread", "executor: gpu"), "executor must be one of"),
        (RUN + "n_workers: 0\n", "n_workers must be positive, got 0"),
        (RUN + "transfer: [nosuch]\n", "'nosuch' is neither a study"),
        (RUN + "timeout: abc\n", "timeout must be a positive number of seconds"),
        (RUN + "max_consecutive_failures: 0\n", "max_consecutive_failures must be"),
        (RUN + "study_name: [a, b]\n", "study_name must be a name"),
        # a new SQLite file in a missing folder: neither is made when the config is refused
        (RUN.replace("t.db", "runs/t.db").replace("policy: random", "policy: nope"), "nope"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture, text: str, message: str
) -> None:
    (workdir / "bad.yaml").write_text(text)
    before = set(workdir.rglob("*"))
    assert main(["run", "bad.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert message in err
    assert set(workdir.rglob("*")) == before  # nothing written


def test_existing_study_with_another_space(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "run.yaml", "--no-progress"]) == 0
    (workdir / "space.yaml").write_text(SPACE.replace("high: 6", "high: 7"))
    capsys.readouterr()
    assert main(["run", "run.yaml", "--no-progress"]) == 2
    assert "different space" in capsys.readouterr().err


def test_status_of_missing_storage(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["status", "--storage", "sqlite:///nope.db", "--study", "x"]) == 2
    assert "no database file" in capsys.readouterr().err
    assert not (workdir / "nope.db").exists()


def test_a_study_made_by_plain_optuna_is_adopted(
    workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    import optuna

    optuna.create_study(study_name="run", storage="sqlite:///t.db")
    assert main(["run", "run.yaml", "--no-progress"]) == 0
    assert "best loss" in capsys.readouterr().out


def test_a_wrong_metric_stops_with_the_reason_and_exit_1(
    workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    (workdir / "run.yaml").write_text(
        RUN.replace("metric: loss", "metric: los\ndirection: minimize")
    )
    assert main(["run", "run.yaml", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "metarl: trial 0 failed: trainer result has no metric 'los'" in err
    assert "stopped: the first 3 trials all failed" in err
    assert main(["best", "--storage", "sqlite:///t.db", "--study", "run"]) == 1
    assert "3 trial(s) failed; most common reason (3x)" in capsys.readouterr().err


def test_a_missing_folder_is_created_and_said(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    (workdir / "run.yaml").write_text(RUN.replace("t.db", "runs/a/t.db"))
    assert main(["run", "run.yaml", "--no-progress"]) == 0
    assert "(folder runs/a/ created)" in capsys.readouterr().err.splitlines()[0]
