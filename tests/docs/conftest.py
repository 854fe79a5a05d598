"""Helpers of the documentation tests: the fenced blocks of a Markdown file, and running
commands as a user would (a fresh folder, no PYTHONPATH, the installed ``metarl`` script)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: The installed ``metarl`` console script (pip writes it next to the interpreter).
SCRIPT = Path(sys.executable).parent / "metarl"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block of Markdown ``text``, in order."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def section(text: str, heading: str) -> str:
    """The text under the Markdown heading line ``heading`` up to the next heading of the
    same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines(keepends=True)
    start = lines.index(heading + "\n") + 1
    end = next(
        (
            i
            for i in range(start, len(lines))
            if re.match(rf"^#{{1,{level}}} ", lines[i]) and not _in_fence(lines[:i])
        ),
        len(lines),
    )
    return "".join(lines[start:end])


def _in_fence(lines: list[str]) -> bool:
    return sum(line.startswith("```") for line in lines) % 2 == 1


@pytest.fixture
def user_run() -> Callable[..., subprocess.CompletedProcess]:
    """Run a command line in ``cwd`` as a user would: ``metarl`` is the installed script,
    ``python`` this interpreter, and neither PYTHONPATH nor METARL_PLUGINS is set."""

    def run(command: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
        argv = shlex.split(command)
        if argv[0] == "metarl":
            argv = [sys.executable, str(SCRIPT), *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "METARL_PLUGINS")}
        return subprocess.run(
            argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
        )

    return run
