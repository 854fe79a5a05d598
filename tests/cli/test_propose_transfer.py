"""``metarl propose --transfer``: a zero-shot portfolio for a dataset with no run yet, the
held-out check of such portfolios, a warm-started refit with ``--runs``, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "experiments" / "configs" / "protein_space.yaml"  # context: protein_structure
SIBLINGS = "hpolib/naval_propulsion,hpolib/parkinsons_telemonitoring,hpolib/slice_localization"
BASE = ["propose", "--space", str(SPACE), "--learner", "forest", "--transfer-size", "60"]


def _rows(out: str) -> list[dict]:
    return [json.loads(s) for s in out.strip().splitlines()]


def test_zero_shot_portfolio_from_sibling_tasks(capsys: pytest.CaptureFixture) -> None:
    assert main([*BASE, "--transfer", SIBLINGS, "--n", "5", "--json"]) == 0
    out, err = capsys.readouterr()
    rows = _rows(out)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert len({json.dumps(r["config"], sort_keys=True) for r in rows}) == 5
    means = [r["predicted"]["score(val_loss)"]["mean"] for r in rows]
    assert means[0] == min(means)  # minimised: the best predicted first
    assert "zero-shot for dataset=protein_structure: no run of it, 180 runs of 3" in err
    assert "minimize val_loss (the benchmark tasks')" in err
    assert "held out, one dataset at a time (3)" in err and "random picks: " in err
    # the portfolio is good on the new dataset: its configs' mean true regret is under 0.8,
    # which a quarter of the table's configs reach (a random config's mean: 1.18)
    task = load_task("hpolib/protein_structure")
    true = task.true_value([r["config"] for r in rows])
    assert float(np.mean(task.normalized_regret(true))) < 0.8


def test_csv_source_with_its_dataset_column(tmp_path: Path, capsys) -> None:
    task = load_task("hpolib/naval_propulsion", seed=0)
    M = task.space.sample_matrix(40, seed=0)
    df = pd.DataFrame(task.space.to_configs(M))
    df["dataset"] = "naval_propulsion"
    df["val_loss"] = task.sample_observations(M)
    df.to_csv(tmp_path / "naval.csv", index=False)
    args = [*BASE, "--transfer", str(tmp_path / "naval.csv"), "--target", "val_loss"]
    assert main([*args, "--direction", "minimize", "--n", "3", "--no-holdout"]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 3 and "40 runs of 1 other dataset(s)" in err
    assert "held out" not in err


def test_runs_of_the_new_dataset_join_a_warm_refit(tmp_path: Path, capsys) -> None:
    task = load_task("hpolib/protein_structure", seed=0)
    M = task.space.sample_matrix(8, seed=1)
    df = pd.DataFrame(task.space.to_configs(M))
    df["val_loss"] = task.sample_observations(M)
    df.to_csv(tmp_path / "runs.csv", index=False)
    args = [*BASE, "--transfer", SIBLINGS, "--runs", str(tmp_path / "runs.csv"), "--json"]
    assert main([*args, "--n", "4"]) == 0
    out, err = capsys.readouterr()
    rows = _rows(out)
    assert len(rows) == 4 and "refitted with 180 runs of 3 other dataset(s)" in err
    assert "refitted on 188 runs" in err  # the round fits the 8 runs and the transfer data
    ran = {json.dumps(c, sort_keys=True) for c in task.space.to_configs(M)}
    assert not ran & {json.dumps(r["config"], sort_keys=True) for r in rows}


def test_a_plain_optuna_study_named_by_its_dataset(tmp_path: Path, capsys) -> None:
    import optuna

    task = load_task("hpolib/naval_propulsion", seed=0)

    def objective(trial: optuna.Trial) -> float:
        cfg = {n: trial.suggest_categorical(n, p.choices) for n, p in task.space.params.items()}
        return task(cfg)["val_loss"]

    url = f"sqlite:///{tmp_path / 'past.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="naval", storage=url)
    study.optimize(objective, n_trials=20)
    args = [*BASE, "--storage", url, "--direction", "minimize", "--n", "2"]
    # the study records no dataset and its name is no dataset of the space: refused by name
    assert main([*args, "--transfer", "naval"]) == 2
    assert (
        "study 'naval' records no 'dataset', so its dataset is unknown: name it with "
        "DATASET=naval" in capsys.readouterr().err
    )
    assert main([*args, "--transfer", "naval_propulsion=naval"]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 2 and "runs of 1 other dataset(s)" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--transfer", "hpolib/protein_structure"],
            "--transfer: runs of dataset=protein_structure",
        ),
        (["--transfer", "nope.csv", "--direction", "minimize"], "nope.csv"),
        (["--transfer", SIBLINGS, "--learner", "magic"], "--learner 'magic': neither a learner"),
        (["--transfer", SIBLINGS, "--transfer-size", "0"], "--transfer-size must be >= 1"),
        (["--transfer", "nasbench201/cifar10"], "encodes"),
    ],
)
def test_bad_transfer_input_is_one_line(extra: list[str], message: str, capsys) -> None:
    args = ["propose", "--space", str(SPACE), "--transfer-size", "20", *extra]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert not out and len(err.strip().splitlines()) == 1 and message in err, err


def test_learner_or_transfer_is_required(capsys) -> None:
    assert main(["propose", "--space", str(SPACE)]) == 2
    assert "--learner is required" in capsys.readouterr().err
