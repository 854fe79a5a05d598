"""Review 6, F2: a contender whose policy does not build (a misspelt keyword) or a bad
batch size fails the comparison before any run and before settings.json records anything,
so the same out folder takes the corrected command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metarl.compare import run_comparison

TASK = "hpolib/protein_structure"


def _stored(out: Path) -> dict:
    path = out / "settings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_a_misspelt_policy_keyword_fails_before_any_run(tmp_path: Path) -> None:
    kw = {"out_dir": tmp_path, "progress": False}
    with pytest.raises(ValueError, match=r"^policy 'default' .*unexpected keyword argument 'kapa'"):
        run_comparison(TASK, "random,default(kapa=1)", 1, 10, **kw)
    assert not list((tmp_path / "runs").glob("*.csv")), "no run before every spec builds"
    assert "default" not in _stored(tmp_path).get("policies", {})
    runs = run_comparison(TASK, "random,default(kappa=1)", 1, 10, **kw)  # was: refused
    assert set(runs["policy"]) == {"random", "default"}
    assert _stored(tmp_path)["policies"]["default"]["kwargs"]["kappa"] == 1


def test_a_bad_batch_size_fails_before_settings_are_recorded(tmp_path: Path) -> None:
    kw = {"out_dir": tmp_path, "progress": False}
    with pytest.raises(ValueError, match="batch_size"):
        run_comparison(TASK, "random", 1, 10, batch_size=0, **kw)
    assert _stored(tmp_path) == {}
    run_comparison(TASK, "random", 1, 10, batch_size=1, **kw)  # was: 'batch_size=1 (stored: 0)'
    assert _stored(tmp_path)["batch_size"] == 1
