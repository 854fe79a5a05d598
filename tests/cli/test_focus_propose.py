"""``metarl propose --focus``: proposals inside the focus ranked by the learner, a refit on
``--runs`` with the learner's quality on the focus region, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.cli import main
from metarl.learners import load_learner
from metarl.space import SearchSpace

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "experiments" / "configs" / "protein_space.yaml"
FOCUS = {
    "fixed": {"lr_schedule": "const", "activation_fn_1": "tanh"},
    "choices": {"n_units_1": [16, 32]},
}
PROPOSE = ["propose", "--learner", "learner.mrl", "--space", str(SPACE), "--json"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """runs.csv of 60 noisy HPOLib protein_structure runs and a linear learner fitted on it."""
    monkeypatch.chdir(tmp_path)
    task = load_task("hpolib/protein_structure", seed=0)
    M = task.space.sample_matrix(60, seed=0)
    df = pd.DataFrame(task.space.to_configs(M))
    df["val_loss"] = task.sample_observations(M)
    df.to_csv(tmp_path / "runs.csv", index=False)
    fit = ["learner", "fit", "--runs", "runs.csv", "--space", str(SPACE), "--target", "val_loss"]
    assert main([*fit, "--learner", "linear", "--out", "learner.mrl"]) == 0
    return tmp_path


def _in_focus(config: dict) -> bool:
    return (
        config["lr_schedule"] == "const"
        and config["activation_fn_1"] == "tanh"
        and config["n_units_1"] in (16, 32)
    )


def test_propose_in_a_focus_ranks_it_by_the_learner(workdir: Path, capsys) -> None:
    capsys.readouterr()
    assert main([*PROPOSE, "--n", "5", "--focus", json.dumps(FOCUS)]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(s) for s in out.strip().splitlines()]
    assert len(rows) == 5 and all(_in_focus(r["config"]) for r in rows)
    assert "(5184 configs)" in err and "pass --runs" in err
    space = SearchSpace.from_yaml(SPACE)
    focus = space.restrict(**FOCUS)
    learner = load_learner(workdir / "learner.mrl", space=space)
    best = learner.predict(space.encode_matrix(next(focus.enumerate(chunk_size=10**6)))).min()
    assert rows[0]["predicted"]["val_loss"]["mean"] == pytest.approx(best, rel=1e-6)


def test_propose_refits_on_runs_and_reports_the_focus_quality(workdir: Path, capsys) -> None:
    (workdir / "focus.yaml").write_text("fixed: {lr_schedule: const}\n")
    capsys.readouterr()
    assert main([*PROPOSE, "--n", "4", "--focus", "focus.yaml", "--runs", "runs.csv"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(s) for s in out.strip().splitlines()]
    runs = pd.read_csv(workdir / "runs.csv")
    n_in = int((runs["lr_schedule"] == "const").sum())
    assert "refitted on 60 runs of runs.csv" in err and f": {n_in} runs, cv spearman 0." in err
    seen = {json.dumps(c, sort_keys=True) for c in runs.drop(columns="val_loss").to_dict("records")}
    assert len(rows) == 4 and all(r["config"]["lr_schedule"] == "const" for r in rows)
    assert not seen & {json.dumps(r["config"], sort_keys=True) for r in rows}


@pytest.mark.parametrize(
    ("focus", "message"),
    [
        ('{"fixed": {"lr": 0.1}}', "--focus: unknown parameter 'lr'"),
        ('{"fixed": {"lr_schedule": "linear"}}', "--focus: parameter 'lr_schedule'"),
        ('{"choices": {"n_units_1": [16, 1024]}}', "--focus: parameter 'n_units_1'"),
        ("{}", "--focus: empty"),
        ('{"fixed": ', "--focus: invalid JSON"),
        ("nofile.yaml", "--focus nofile.yaml: cannot read"),
        ('{"pinned": {"n_units_1": 16}}', "--focus: unknown key 'pinned'"),
    ],
)
def test_a_bad_focus_is_one_line_exit_2(workdir: Path, capsys, focus: str, message: str) -> None:
    capsys.readouterr()
    assert main([*PROPOSE, "--focus", focus, "--runs", "runs.csv"]) == 2
    out, err = capsys.readouterr()
    assert not out and len(err.strip().splitlines()) == 1 and message in err
