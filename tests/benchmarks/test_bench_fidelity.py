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


def test_the_ladder_method_and_the_synthetic_task_are_wired(monkeypatch) -> None:
    """``metarl_fidelity_ladder`` is ``Study(fidelity_start="auto")`` on a continuing trainer;
    ``mlp_epochs_synthetic`` is the epochs task on the synthetic data (no training here)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import bench_fidelity

    trainer, fidelity = bench_fidelity.make_trainer("mlp_epochs_synthetic", 3, continuation=True)
    assert fidelity == "epochs" and trainer.dataset == "synthetic" and trainer.continues
    assert trainer.space.params["epochs"].full == 20
    got = []
    monkeypatch.setattr(bench_fidelity, "run_metarl", lambda *a, **kw: got.append((a, kw)))
    row = bench_fidelity.run_one("mlp_epochs", 0, "metarl_fidelity_ladder", 1.0)
    (clock, seed), kw = got[0]
    assert kw == {"fidelity": True, "start": "auto"} and clock.trainer.continues
    bench_fidelity.run_one("mlp_epochs", 0, "metarl_fidelity", 1.0)
    assert got[1][1] == {"fidelity": True, "start": None}
    assert row["method"] == "metarl_fidelity_ladder"
