"""benchmarks/bench_acq_optimizers.py: its learner wrapper, its checkpoints, and a --quick run
on tiny budgets that must produce a row per optimizer."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metarl.learners import acquisition, make_learner

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    import bench_acq_optimizers

    return bench_acq_optimizers


@pytest.fixture(scope="module")
def fitted(bench):
    from _spaces import features_case

    case = features_case(40)
    model = make_learner("gp", random_state=0, n_restarts=0)
    return case.space, model.fit(case.space.encode(case.configs), case.y)


def test_tracker_counts_configs_and_keeps_the_library_ucb_of_the_best(bench, fitted) -> None:
    space, model = fitted
    tracker = bench.Tracker(model, max_evals=300, max_seconds=600)
    X = space.encode_matrix(space.sample_matrix(256, seed=1))
    ucb = acquisition(tracker, X, "ucb", 2.0, "maximize")
    np.testing.assert_allclose(ucb, acquisition(model, X, "ucb", 2.0, "maximize"))
    assert tracker.count_ == 256 and len(tracker.trace_) == 1
    assert tracker.best_ == pytest.approx(ucb.max())
    best_again = acquisition(model, tracker.best_x_[None], "ucb", 2.0, "maximize")[0]
    assert best_again == pytest.approx(tracker.best_, rel=1e-5)
    acquisition(tracker, X[:100], "ucb", 2.0, "maximize")  # 356 >= 300: the budget is spent
    assert tracker.trace_[-1][0] == 356
    with pytest.raises(bench.OutOfBudgetError):
        acquisition(tracker, X[:1], "ucb", 2.0, "maximize")


def test_checkpoints_read_the_incumbent_and_mark_unreached_budgets(bench) -> None:
    # (evals, cpu s, wall s, best): stopped by the 30 s cap after 20k evaluations
    trace = np.array([[500, 0.5, 0.5, 1.0], [3000, 4.0, 4.0, 2.0], [20_000, 31.0, 31.0, 2.5]])
    c = bench.checkpoints(trace, max_evals=256_000, max_seconds=30.0)
    assert c["@1k"] == 1.0 and c["@4k"] == 2.0 and c["@16k"] == 2.0
    assert np.isnan(c["@64k"]) and np.isnan(c["@256k"])
    assert c["@1s"] == 1.0 and c["@5s"] == 2.0 and c["@30s"] == 2.0
    assert c["evals"] == 20_000
    # a run capped at 5 s has no 30 s figure; one that spent its evaluations first has
    assert np.isnan(bench.checkpoints(trace[:2], 256_000, 5.0)["@30s"])
    assert bench.checkpoints(trace[:2], 3000, 5.0)["@30s"] == 2.0


@pytest.mark.slow
def test_quick_run_writes_a_row_per_optimizer(tmp_path: Path) -> None:
    optimizers = ["surrogate_sampling", "evolution", "local_search", "smac_style", "tpe"]
    optimizers += ["ppo", "ppo_warm"]
    out = tmp_path / "acq.csv"
    cmd = [sys.executable, str(BENCH / "bench_acq_optimizers.py"), "--quick"]
    cmd += ["--spaces", "features", "--n-results", "40", "--out", str(out)]
    cmd += ["--optimizers", ",".join(optimizers)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "== features (gp): best UCB" in run.stdout
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["optimizer"] for r in rows] == optimizers
    for r in rows:
        assert float(r["evals"]) > 0 and np.isfinite(float(r["@1s"])), r
