"""``--help`` of the experiment scripts: a whole description, and every option says what it
does and its default."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["train_agent.py", "compare_policies.py"])
def test_every_option_is_explained_with_its_default(script: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / script), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"COLUMNS": "1000", "PATH": "/usr/bin:/bin"},  # one line per option
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    description = out.stdout.split("\n\n")[1]
    assert description.rstrip().endswith((".", ":"))  # not cut mid-sentence
    options = re.findall(r"^  (--[a-z-]+) [A-Z_]+\s+(.*)$", out.stdout, flags=re.M)
    assert len(options) > 5
    for name, text in options:
        if name == "--config":
            continue
        what, _, default = text.rpartition(" (default: ")
        assert len(what.split()) >= 2 and default, f"{script} {name}: {text!r}"
