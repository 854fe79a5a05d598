"""The experiment scripts run end to end on tiny budgets, as a researcher runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", str(ROOT / "experiments" / script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_compare_policies(tmp_path) -> None:
    config = ROOT / "experiments/configs/compare_smoke.yaml"
    out = _run("compare_policies.py", "--config", str(config), "--out", "cmp", cwd=tmp_path)
    assert "wrote" in out
    for name in ("runs.csv", "summary.md", "regret.png"):
        assert (tmp_path / "cmp" / name).exists()


def test_refine(tmp_path) -> None:
    config = ROOT / "experiments/configs/refine_smoke.yaml"
    args = ["--config", str(config), "--budget", "20", "--storage", "sqlite:///r/refine.db"]
    out = _run("refine.py", *args, cwd=tmp_path)
    assert "normalised regret" in out
    assert (tmp_path / "r" / "refine.db").exists()


def test_train_agent_in_the_plugin_env(tmp_path) -> None:
    config = ROOT / "experiments/configs/train_agent_smoke.yaml"
    out = _run("train_agent.py", "--config", str(config), "--timesteps", "128", "--out",
               "agent/ppo.zip", cwd=tmp_path)  # fmt: skip
    assert "best regret of the proposals" in out
    assert (tmp_path / "agent" / "ppo.zip").exists()


def test_a_config_typo_is_a_one_line_error(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("budgt: 10\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "experiments/compare_policies.py"), "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown key(s) ['budgt']" in proc.stderr


@pytest.mark.parametrize("script", ["compare_policies.py", "refine.py", "train_agent.py"])
def test_help(script: str, tmp_path) -> None:
    assert "--config" in _run(script, "--help", cwd=tmp_path)
