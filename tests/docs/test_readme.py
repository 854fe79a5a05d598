"""The README against the code: its Python blocks are ruff-formatted, its links resolve, its
set-up is two commands, and what it says of plug-ins and extras is what the code does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metarl.agents import ENTRY_POINT_GROUP as POLICIES
from metarl.envs._contract import CONFIG_INFO_KEY, CONTRACT_KEYWORDS
from metarl.learners import ENTRY_POINT_GROUP as LEARNERS
from metarl.trainers import ENTRY_POINT_GROUP as TRAINERS
from tests.docs.conftest import README, ROOT, fenced_blocks, section

TEXT = README.read_text()


def _ruff() -> list[str]:
    exe = Path(sys.executable).parent / "ruff"
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return ["ruff"]
    pytest.skip("ruff is not installed (pip install -e '.[dev]')")


@pytest.mark.parametrize(
    "code", [c for lang, c in fenced_blocks(TEXT) if lang == "python"], ids=lambda c: c[:30]
)
def test_python_blocks_are_ruff_formatted(code: str) -> None:
    out = subprocess.run(
        [*_ruff(), "format", "--diff", "--stdin-filename", "README_block.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,  # the project's ruff settings (line length 100)
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_set_up_is_two_commands() -> None:
    (block,) = [c for lang, c in fenced_blocks(section(TEXT, "## Set up")) if lang == "bash"]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv && . .venv/bin/activate") for c in commands)
    assert commands[1].endswith("python -m pytest")


def test_relative_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", TEXT)
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing


def test_the_env_contract_is_the_codes() -> None:
    text = section(TEXT, "## Plug in your own environment")
    for keyword in CONTRACT_KEYWORDS:
        assert f"`{keyword}`" in text, keyword
    assert f'`info["{CONFIG_INFO_KEY}"]`' in text
    assert "`action_masks()`" in text and "MaskablePPO" in text and "--import envs" in text


def test_the_registry_groups_are_the_codes() -> None:
    text = section(TEXT, "## Plug in policies, learners and trainers")
    for group in (POLICIES, LEARNERS, TRAINERS):
        assert f"`{group}`" in text
    assert f'[project.entry-points."{POLICIES}"]' in text


def test_the_extras_it_names_exist() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = set(re.findall(r"metarl\[(\w+)\]", TEXT))
    assert named == {"dashboard", "postgres", "tensorboard"}
    assert named <= set(extras)
    assert any(d.startswith("optuna-dashboard") for d in extras["dashboard"])
