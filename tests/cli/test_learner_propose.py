"""``metarl learner fit`` -> learner file -> ``metarl propose``, and their one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPACE = ROOT / "experiments" / "configs" / "protein_space.yaml"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs.csv of 30 noisy HPOLib protein_structure runs in the working directory."""
    monkeypatch.chdir(tmp_path)
    task = load_task("hpolib/protein_structure", seed=0)
    M = task.space.sample_matrix(30, seed=0)
    df = pd.DataFrame(task.space.to_configs(M))
    df["val_loss"] = task.sample_observations(M)
    df["train_time"] = task.sample_observations(M, metric="train_time")
    df.to_csv(tmp_path / "runs.csv", index=False)
    return tmp_path


def _fit(*extra: str) -> list[str]:
    return [
        "learner", "fit", "--runs", "runs.csv", "--space", str(SPACE), "--target", "val_loss",
        "--learner", "linear", "--out", "learner.mrl", *extra,
    ]  # fmt: skip


def test_fit_then_propose(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_fit()) == 0
    out = capsys.readouterr().out
    for k in ("spearman", "kendall", "top10_recall", "rmse", "r2", "val_loss", "saved"):
        assert k in out
    assert (workdir / "learner.mrl").exists()

    assert main(["propose", "--learner", "learner.mrl", "--space", str(SPACE), "--n", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("1. val_loss ") and "n_units_1=" in lines[0]

    args = ["propose", "--learner", "learner.mrl", "--space", str(SPACE), "--n", "3", "--json"]
    assert (
        main([*args, "--policy", "surrogate_sampling", "--context", "dataset=naval_propulsion"])
        == 0
    )
    rows = [json.loads(s) for s in capsys.readouterr().out.strip().splitlines()]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert len({json.dumps(r["config"], sort_keys=True) for r in rows}) == 3
    means = [r["predicted"]["val_loss"]["mean"] for r in rows]
    assert all(isinstance(m, float) for m in means)


def test_exhaustive_proposals_are_the_predicted_best(workdir: Path, capsys) -> None:
    from metarl.learners import load_learner
    from metarl.space import SearchSpace

    assert main(_fit("--target", "val_loss,train_time", "--direction", "minimize")) == 0
    assert "train_time" in capsys.readouterr().out
    assert main(["propose", "--learner", "learner.mrl", "--space", str(SPACE), "--json"]) == 0
    rows = [json.loads(s) for s in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 10 and set(rows[0]["predicted"]) == {"val_loss", "train_time"}
    space = SearchSpace.from_yaml(SPACE)
    learner = load_learner(workdir / "learner.mrl", space=space)
    M = next(space.enumerate(chunk_size=10**6))
    best = learner.predict(space.encode_matrix(M))[:, 0].min()
    assert rows[0]["predicted"]["val_loss"]["mean"] == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (_fit()[:-2] + ["--out", "l.mrl", "--runs", "none.csv"], "none.csv: cannot read"),
        (_fit("--target", "val_acc"), "no target column 'val_acc'"),
        (_fit("--target", "val_loss", "--cv", "40"), "at least 40"),
        (_fit("--learner", "nope"), "nope"),
        (_fit("--direction", "up"), "direction must be 'minimize' or 'maximize'"),
    ],
)
def test_fit_bad_input_is_one_line_exit_2(workdir: Path, capsys, argv, message) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and message in err
    assert not (workdir / "learner.mrl").exists()


def test_propose_refuses_a_learner_of_another_space(workdir: Path, capsys) -> None:
    assert main(_fit()) == 0
    other = SPACE.read_text().replace("- 0.6\n", "- 0.5\n")
    (workdir / "other.yaml").write_text(other)
    assert main(["propose", "--learner", "learner.mrl", "--space", "other.yaml"]) == 2
    err = capsys.readouterr().err
    assert "fitted on another search space" in err and len(err.strip().splitlines()) == 1
    bare = "\n".join(s for s in SPACE.read_text().splitlines() if "value:" not in s)
    (workdir / "bare.yaml").write_text(bare)
    assert main(["propose", "--learner", "learner.mrl", "--space", "bare.yaml"]) == 2
    assert "pass --context dataset=VALUE" in capsys.readouterr().err
    argv = ["propose", "--learner", "learner.mrl", "--space", str(SPACE), "--context", "gpu=1"]
    assert main(argv) == 2
    assert "not a context feature" in capsys.readouterr().err
    assert main(["propose", "--learner", "runs.csv", "--space", str(SPACE)]) == 2
    assert "not a metarl learner file" in capsys.readouterr().err


def test_subprocess_propose(workdir: Path) -> None:
    assert main(_fit()) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = ["propose", "--learner", "learner.mrl", "--space", str(SPACE), "--n", "2"]
    out = subprocess.run(
        [sys.executable, "-m", "metarl.cli", *argv], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [s.split(".")[0].strip() for s in out.stdout.strip().splitlines()] == ["1", "2"]


def test_propose_uses_the_direction_recorded_in_the_learner_file(workdir: Path, capsys) -> None:
    from metarl.learners import make_learner, read_metadata, save_learner
    from metarl.metadata import load_runs
    from metarl.space import SearchSpace

    space = SearchSpace.from_yaml(SPACE)
    data = load_runs("runs.csv", space, ["val_loss"], direction="maximize")
    learner = make_learner("linear").fit(data.X, data.y, target_names=data.target_names)
    save_learner(learner, "max.mrl", space=space, directions=data.directions)
    assert read_metadata("max.mrl")["directions"] == ["maximize"]
    pred = learner.predict(space.encode_matrix(next(space.enumerate(chunk_size=10**6))))

    def best(*extra: str) -> float:
        argv = ["propose", "--learner", "max.mrl", "--space", str(SPACE), "--n", "1", "--json"]
        assert main([*argv, *extra]) == 0
        return json.loads(capsys.readouterr().out)["predicted"]["val_loss"]["mean"]

    assert best() == pytest.approx(pred.max(), rel=1e-6)  # the high configs, no flag needed
    assert best("--direction", "minimize") == pytest.approx(pred.min(), rel=1e-6)  # overrides


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("cv_acc", "maximize"),
        ("valAccuracy", "maximize"),
        ("mean_test_score", "maximize"),
        ("f1_macro", "maximize"),
        ("r2", "maximize"),
        ("neg_mean_squared_error", "maximize"),
        ("val_loss", "minimize"),
        ("train_time", "minimize"),
        ("test-RMSE", "minimize"),
        ("quality", None),
        ("acc_loss", None),
    ],
)
def test_direction_is_read_from_common_metric_names(name: str, direction: str | None) -> None:
    from metarl.study._direction import infer_direction

    found = infer_direction(name)
    assert (found and found[0]) == direction


def _table(out: str) -> dict[str, list[float]]:
    """Rows of the quality table by their first word(s), as numbers."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        nums = [p for p in parts if p.lstrip("-").replace(".", "", 1).isdigit()]
        if len(nums) >= 5:
            rows[line[: line.index(nums[0])].strip()] = [float(v) for v in nums[:5]]
    return rows


def test_fit_says_the_direction_and_shows_the_mean_baseline(workdir: Path, capsys) -> None:
    assert main(_fit()) == 0
    out = capsys.readouterr().out
    assert "minimize ('loss' in its name)" in out
    rows = _table(out)
    learner, baseline = rows["val_loss"], rows["predict the mean"]
    spearman, rmse, r2 = 0, 3, 4
    assert baseline[spearman] == 0 and baseline[r2] <= 0  # fold means: r2 <= 0 always
    assert learner[spearman] > 0.5 and learner[rmse] < baseline[rmse]

    assert main(_fit("--direction", "maximize")) == 0
    assert "maximize (--direction)" in capsys.readouterr().out


def test_fit_requires_a_direction_for_other_names(workdir: Path, capsys) -> None:
    df = pd.read_csv("runs.csv").rename(columns={"val_loss": "quality"})
    df.to_csv("runs.csv", index=False)
    assert main(_fit("--target", "quality")) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "cannot tell from its name whether 'quality' is minimized or maximized: "
        "pass --direction minimize or --direction maximize"
    )
    assert not (workdir / "learner.mrl").exists()
    assert main(_fit("--target", "quality", "--direction", "minimize")) == 0


def test_propose_says_which_direction_and_why(workdir: Path, capsys) -> None:
    from metarl.learners import make_learner, save_learner
    from metarl.metadata import load_runs
    from metarl.space import SearchSpace

    space = SearchSpace.from_yaml(SPACE)
    data = load_runs("runs.csv", space, ["val_loss"])
    learner = make_learner("linear").fit(data.X, data.y, target_names=["val_loss"])
    save_learner(learner, "bare.mrl", space=space)  # no direction recorded
    argv = ["propose", "--learner", "bare.mrl", "--space", str(SPACE), "--n", "1"]
    assert main(argv) == 0
    assert "minimize val_loss ('loss' in its name)" in capsys.readouterr().err
    assert main(_fit("--direction", "maximize")) == 0
    capsys.readouterr()
    assert main([*argv[:2], "learner.mrl", *argv[3:]]) == 0
    assert "maximize val_loss (recorded in learner.mrl by `metarl learner fit`)" in (
        capsys.readouterr().err
    )


def test_fit_shows_its_progress_on_a_terminal(workdir: Path, capsys, monkeypatch) -> None:
    assert main(_fit()) == 0
    assert capsys.readouterr().err == ""  # not a terminal: nothing but errors on stderr
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(_fit("--learner", "auto", "--cv", "3")) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "fitting auto (it cross-validates its candidates in every fit): 3-fold "
        "cross-validation on 30 runs, then a fit on all of them ..."
    )
    assert err[1].startswith("fitted in ") and len(err) == 2
