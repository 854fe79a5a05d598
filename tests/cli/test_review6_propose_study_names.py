"""Review 6, F6: ``metarl propose --transfer d1,d2 --storage ...`` with plain Optuna studies
that record no dataset: a study is named by its study name when that name is a value of
the space's context feature, as a CSV without the context column is named by its stem (and
``MetaRLSampler(transfer=[...])`` names a study by its study name); another name is refused
by name, saying how to name it. A study that records its dataset keeps it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from metarl.cli import main

SPACE = """params:
  x: {type: float, low: 0.0, high: 1.0, bins: 9}
  m: {type: categorical, choices: [a, b]}
context:
  dataset: {type: categorical, choices: [d1, d2, d3]}
"""


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    return -((x - 0.3) ** 2) + (trial.suggest_categorical("m", ["a", "b"]) == "a")


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text(SPACE)
    url = f"sqlite:///{tmp_path / 'past.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name in ("d1", "d2", "other"):
        study = optuna.create_study(study_name=name, storage=url, direction="maximize")
        study.optimize(_objective, n_trials=12)
    # a study named d2 whose trials record their dataset, d1 (as a metarl study's do)
    study = optuna.create_study(study_name="d2_of_d1", storage=url, direction="maximize")

    def recorded(trial: optuna.Trial) -> float:
        trial.set_user_attr("metarl:context", {"dataset": "d1"})
        return _objective(trial)

    study.optimize(recorded, n_trials=12)
    return url


def _args(url: str, context: str, sources: str) -> list[str]:
    return [
        "propose", "--space", "space.yaml", "--context", f"dataset={context}", "--transfer",
        sources, "--storage", url, "--target", "value", "--direction", "maximize", "--n", "2",
        "--no-holdout", "--learner", "forest",
    ]  # fmt: skip


def test_plain_studies_are_named_by_their_study_name(url: str, capsys) -> None:
    assert main(_args(url, "d3", "d1,d2")) == 0  # was: "runs of dataset=d3 itself"
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 2
    assert "runs of 2 other dataset(s)" in err


def test_a_study_named_as_the_new_dataset_is_its_own_runs(url: str, capsys) -> None:
    assert main(_args(url, "d1", "d1")) == 2
    assert "runs of dataset=d1 itself are not transfer data" in capsys.readouterr().err


def test_a_study_name_that_is_no_dataset_is_refused_by_name(url: str, capsys) -> None:
    assert main(_args(url, "d3", "other")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "metarl propose: error: --transfer other: study 'other' records no 'dataset', so its "
        "dataset is unknown: name it with DATASET=other"
    ]


def test_a_study_that_records_its_dataset_keeps_it(url: str, capsys) -> None:
    assert main(_args(url, "d3", "d2_of_d1,d2")) == 0
    assert "runs of 2 other dataset(s)" in capsys.readouterr().err
    assert main(_args(url, "d1", "d2_of_d1")) == 2  # its runs are d1's: not transfer data
    assert "runs of dataset=d1 itself" in capsys.readouterr().err
