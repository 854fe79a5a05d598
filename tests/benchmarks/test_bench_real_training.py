"""benchmarks/bench_real_training.py: a tiny real run (1 task, 1 seed, 3 trials, every sampler)
writes a row per sampler and a summary; ranks and the worst seed are read correctly; bad
names are refused in one line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    import bench_real_training

    return bench_real_training


def test_tiny_run_writes_every_sampler_and_trial(bench, tmp_path, capsys) -> None:
    out = tmp_path / "real"
    args = ["--tasks", "features", "--seeds", "1", "--trials", "3", "--out", str(out)]
    summary = bench.main(args)
    with (out / "runs.csv").open() as f:
        runs = list(csv.DictReader(f))
    assert [r["sampler"] for r in runs] == list(bench.SAMPLERS)
    for r in runs:
        assert r["error"] == "" and int(r["trials"]) == 3
        best = json.loads(r["best"])
        assert len(best) == 3 and all(0.0 < b <= 1.0 for b in best)
        assert best == sorted(best)  # the incumbent never gets worse
        assert float(r["overhead_median"]) >= 0.0 and float(r["trainer_total"]) > 0.0
    with (out / "trials.csv").open() as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 3 * len(bench.SAMPLERS)
    assert {t["state"] for t in trials} <= {"complete", "pruned"}
    assert summary["blocks"] == 1 and summary["budgets"] == [3]
    assert json.loads((out / "summary.json").read_text())["blocks"] == 1
    assert "rank over (task, seed) blocks" in capsys.readouterr().out
    # --resume skips what is done: no new rows
    bench.main([*args, "--resume"])
    with (out / "runs.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(bench.SAMPLERS)


def _run(task: str, seed: int, sampler: str, best: list[float | None], error: str = "") -> dict:
    return {
        "task": task,
        "seed": seed,
        "sampler": sampler,
        "best": best,
        "error": error,
        "n_pruned": 0,
        "n_duplicates": 0,
        "overhead_median": 0.1,
        "overhead_median_after_startup": 0.2,
        "overhead_p90": 0.3,
        "overhead_max": 0.4,
        "trainer_total": 2.0,
        "wall": 1.0,
    }


def test_summary_ranks_ties_missing_values_and_worst_seed(bench) -> None:
    runs = [
        _run("t", 0, "a", [0.5, 0.9]),
        _run("t", 0, "b", [0.5, 0.8]),
        _run("t", 0, "c", [None, None]),  # nothing completed: ranks last
        _run("t", 1, "a", [0.6, 0.7]),
        _run("t", 1, "b", [0.4, 0.95]),
        _run("t", 1, "c", [0.3, 0.3]),
        _run("t", 2, "a", [0.9, 0.9]),
        _run("t", 2, "b", [0.9, 0.9]),
        _run("t", 2, "c", [0.9, 0.9], error="RuntimeError: boom"),  # block 2 left out
    ]
    s = bench.summarise(runs, ["a", "b", "c"], [1, 2])
    assert s["blocks"] == 2 and s["tasks"]["t"]["seeds"] == 2
    # @1: seed 0 a/b tie (1.5 each), c 3; seed 1 a 1, b 2, c 3
    np.testing.assert_allclose([s["rank"][p]["mean"][0] for p in "abc"], [1.25, 1.75, 3.0])
    # @2: seed 0 a 1, b 2, c 3; seed 1 b 1, a 2, c 3
    np.testing.assert_allclose([s["rank"][p]["mean"][1] for p in "abc"], [1.5, 1.5, 3.0])
    assert s["rank"]["a"]["wins"] == [2, 1] and s["rank"]["c"]["worst"] == [3.0, 3.0]
    assert s["tasks"]["t"]["b"]["worst"] == [0.4, 0.8]
    assert s["tasks"]["t"]["a"]["mean"] == pytest.approx([0.55, 0.8])
    assert s["errors"] == ["t seed 2 c: RuntimeError: boom"]


@pytest.mark.parametrize(
    ("flag", "value", "culprit"),
    [
        ("--tasks", "digits,nope", "nope"),
        ("--samplers", "tpe,cmaes", "cmaes"),
        ("--samplers", "metarl-ucbx", "metarl-ucbx"),
        ("--samplers", "metarl-tr-foo", "metarl-tr-foo"),
    ],
)
def test_unknown_names_are_refused_in_one_line(bench, tmp_path, flag, value, culprit) -> None:
    with pytest.raises(SystemExit, match=culprit) as e:
        bench.main([flag, value, "--out", str(tmp_path)])
    assert "\n" not in str(e.value)


def test_metarl_variants_change_what_they_name(bench) -> None:
    assert bench.make_sampler("metarl", 3).policy_kwargs is None  # the defaults
    variant = bench.make_sampler("metarl-ucb0.5", 3)
    assert variant.policy_kwargs == {"acquisition": "ucb", "kappa": 0.5}
    assert variant.policy == "auto" and variant.seed == 3
    assert bench.make_sampler("metarl-mean", 3).policy_kwargs == {"acquisition": "mean"}
    tr = bench.make_sampler("metarl-elite-tr0.5f5-ucb1", 3)
    assert tr.policy_kwargs == {
        "acquisition": "ucb",
        "kappa": 1.0,
        "n_history_starts": 8,
        "trust_region": {"init": 0.5, "fail_tol": 5},
    }
    assert bench.make_sampler("metarl-tr", 3).policy_kwargs["trust_region"] is True
    assert bench.make_sampler("metarl-cmean", 3).policy_kwargs["trust_region"] == {"centre": "mean"}
    assert bench.make_sampler("metarl-cmean5-fam8", 3).policy_kwargs["trust_region"] == {
        "centre": "mean",
        "centre_top": 5,
        "family_after": 8,
    }
    assert bench.make_sampler("metarl-Llinear", 3).learner == "linear"
    ens = bench.make_sampler("metarl-Lgp+linear", 3).learner
    assert type(ens).__name__ == "EnsembleLearner" and ens.members == ["gp", "linear"]
