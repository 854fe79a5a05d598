"""``metarl propose --transfer FILE.csv`` of a CSV without the space's context column: its
runs are named by the file's stem (as ``MetaRLSampler`` names them), never taken as the
``--context`` dataset's own; a stem that is no dataset of the space is refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metarl.cli import main

SPACE = """params:
  x: {type: float, low: -2.0, high: 2.0, bins: 9}
  n: {type: integer, low: 1, high: 6}
context:
  dataset: {type: categorical, choices: [d1, d2, d3]}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text(SPACE)
    rng = np.random.default_rng(0)
    for name, column in (("d1.csv", True), ("d2.csv", False), ("nodata.csv", False)):
        df = pd.DataFrame({"x": rng.choice(np.linspace(-2, 2, 9), 20), "n": rng.integers(1, 7, 20)})
        df["loss"] = (df["x"] - 0.5) ** 2 + 0.1 * (df["n"] - 3) ** 2
        if column:
            df.insert(0, "dataset", "d1")
        df.to_csv(tmp_path / name, index=False)
    return tmp_path


BASE = ["propose", "--space", "space.yaml", "--learner", "forest", "--context", "dataset=d3"]
BASE += ["--n", "2", "--target", "loss", "--direction", "minimize", "--no-holdout"]


def test_a_csv_without_the_column_is_named_by_its_stem(folder, capsys) -> None:
    assert main([*BASE, "--transfer", "d2.csv,d1.csv"]) == 0
    err = capsys.readouterr().err
    assert "runs of 2 other dataset(s)" in err


def test_a_stem_that_is_no_dataset_is_refused_by_name(folder, capsys) -> None:
    assert main([*BASE, "--transfer", "nodata.csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--transfer nodata.csv: the CSV has no 'dataset' column" in err[0]
    assert "itself" not in err[0]
