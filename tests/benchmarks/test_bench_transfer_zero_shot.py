"""benchmarks/bench_transfer.py: the exact random baseline, and a tiny --zero-shot run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    import bench_transfer

    return bench_transfer


def test_random_best_of_is_the_expected_minimum(bench) -> None:
    g = np.random.default_rng(0).normal(size=50)
    assert bench.random_best_of(g, 1) == pytest.approx(g.mean())
    assert bench.random_best_of(g, 50) == pytest.approx(g.min())
    rng = np.random.default_rng(1)
    draws = [g[rng.choice(50, 4, replace=False)].min() for _ in range(20000)]
    assert bench.random_best_of(g, 4) == pytest.approx(np.mean(draws), abs=0.02)


def test_zero_shot_run_prints_a_row_per_learner() -> None:
    args = ["--zero-shot", "--families", "nasbench201", "--seeds", "1", "--learners", "forest"]
    out = subprocess.run(
        [sys.executable, str(BENCH / "bench_transfer.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    assert out.count("seed 0 forest: best of top-1/5/10") == 3
    assert "nasbench201 forest" in out
