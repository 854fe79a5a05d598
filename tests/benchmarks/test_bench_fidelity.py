"""Smoke test of benchmarks/bench_fidelity.py: one seed, one task, a tiny trainer budget."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_every_method_runs_to_its_trainer_budget(tmp_path: Path) -> None:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import bench_fidelity

    bench_fidelity.main(
        ["--seeds", "1", "--tasks", "mlp_epochs", "--budget-s", "1", "--out", str(tmp_path)]
    )
    rows = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert {r["method"] for r in rows} == set(bench_fidelity.METHODS)
    assert all(r["task"] == "mlp_epochs" and int(r["n_trials"]) >= 1 for r in rows)
    # the full-fidelity default evaluates at full fidelity only
    full = next(r for r in rows if r["method"] == "metarl_full")
    assert full["n_trials"] == full["n_full"]
    assert (tmp_path / "fidelity.png").exists()
