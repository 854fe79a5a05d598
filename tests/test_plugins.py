"""Plug-in modules by name: ``$METARL_PLUGINS`` is imported by ``import metarl``, as the
worker processes of ``metarl run --import`` rely on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "from metarl.agents import RandomPolicy, register_policy\n\n"
PLUGIN += "class Mine(RandomPolicy):\n    pass\n\nregister_policy('mine_from_env', Mine)\n"


def _python(code: str, cwd: Path, plugins: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{cwd}:{ROOT}", "METARL_PLUGINS": plugins}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_import_metarl_imports_the_plugins_named_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "my_env_plugin.py").write_text(PLUGIN)
    code = "import metarl.agents as a; print(type(a.make_policy('mine_from_env')).__name__)"
    out = _python(code, tmp_path, " my_env_plugin, ")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Mine"


def test_a_missing_plugin_names_the_variable(tmp_path: Path) -> None:
    out = _python("import metarl", tmp_path, "no_such_plugin_xyz")
    assert out.returncode == 1
    assert (
        "ImportError: plug-in module 'no_such_plugin_xyz' (from $METARL_PLUGINS) cannot be "
        "imported: No module named 'no_such_plugin_xyz'"
    ) in out.stderr
