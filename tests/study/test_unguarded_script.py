"""A script that runs a Study without the ``__main__`` guard fails fast and says why."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from metarl.study._executors import GUARD_HINT

SCRIPT = textwrap.dedent(
    """
    from metarl import Categorical, SearchSpace, Study


    def train(config):
        return {"value": {"a": 1.0, "b": 2.0, "c": 3.0}[config["x"]]}


    space = SearchSpace({"x": Categorical(["a", "b", "c"])})
    study = Study(space, train, n_init=2, batch_size=1, n_workers=1, max_consecutive_failures=2)
    study.optimize(budget=3)
    """
)


@pytest.mark.slow
def test_unguarded_script_stops_with_the_guard_hint(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode != 0
    assert "cannot start a worker process" in proc.stderr  # lost, not the trainer's failure
    assert GUARD_HINT in proc.stderr.splitlines()[-1]
