"""``metarl run``: a trainer module next to the YAML, ``--import`` plug-ins, and the
``compare`` command in the same CLI; run by the ``metarl`` script from a fresh folder."""

from __future__ import annotations

from pathlib import Path

import pytest

SPACE = "x: {type: float, low: -2.0, high: 2.0, bins: 9}\nn: {type: integer, low: 1, high: 6}\n"
TRAINER = '''
def train(config):
    """A user's trainer: the loss of a config."""
    return {"loss": (config["x"] - 0.5) ** 2 + 0.1 * (config["n"] - 3) ** 2}
'''
RUN = (
    "space: space.yaml\ntrainer: my_trainer:train\nmetric: loss\nlearner: forest\n"
    "policy: random\nbudget: 4\nbatch_size: 2\nn_init: 2\nstorage: sqlite:///runs.db\n"
    "executor: {executor}\nn_workers: 2\n"
)
PLUGIN = """
from metarl.trainers import register_trainer


def _make(offset=0.0):
    return lambda config: {"loss": offset + config["x"] ** 2}


register_trainer("plugged", _make)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``proj/`` holding the YAML, its space and the trainer module next to them."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "space.yaml").write_text(SPACE)
    (proj / "my_trainer.py").write_text(TRAINER)
    return proj


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_trainer_next_to_the_yaml_needs_no_pythonpath(project, metarl_script, executor) -> None:
    (project / "run.yaml").write_text(RUN.format(executor=executor))
    # from the parent folder: only the YAML's folder can make my_trainer importable
    out = metarl_script("run", "proj/run.yaml", "--no-progress", cwd=project.parent)
    assert out.returncode == 0, out.stderr
    assert "4 evaluations (0 failed)" in out.stdout and "best loss" in out.stdout


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_import_registers_a_trainer_before_the_config_is_checked(
    project, metarl_script, executor
) -> None:
    (project.parent / "my_plugin.py").write_text(PLUGIN)  # in the working directory
    run = RUN.format(executor=executor).replace("my_trainer:train", "plugged")
    (project / "run.yaml").write_text(run + "trainer_kwargs: {offset: 1.0}\n")
    out = metarl_script("run", "proj/run.yaml", "--no-progress", cwd=project.parent)
    assert out.returncode == 2 and "unknown trainer 'plugged'" in out.stderr
    out = metarl_script(
        "run", "proj/run.yaml", "--import", "my_plugin", "--no-progress", cwd=project.parent
    )
    assert out.returncode == 0, out.stderr
    # the worker processes know the plug-in's trainer too
    assert "4 evaluations (0 failed)" in out.stdout


def test_import_of_a_missing_module_is_one_line(project, metarl_script) -> None:
    (project / "run.yaml").write_text(RUN.format(executor="thread"))
    out = metarl_script("run", "proj/run.yaml", "--import", "no_such_plugin", cwd=project.parent)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "metarl run: error: plug-in module 'no_such_plugin' cannot be imported: "
        "No module named 'no_such_plugin'"
    )
    assert not (project.parent / "runs.db").exists()


def test_compare_is_a_metarl_command(tmp_path: Path, metarl_script) -> None:
    argv = ["compare", "--tasks", "hpolib/protein*", "--policies", "random", "--seeds", "1"]
    argv += ["--budget", "10", "--out", "out", "--no-progress"]
    out = metarl_script(*argv, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "summary.md").exists() and "summary.md" in out.stdout
    out = metarl_script(*argv, "--tasks", "x/*", cwd=tmp_path)
    assert out.returncode == 2
    err = out.stderr.strip()
    assert err.startswith("metarl compare: error:") and "x/*" in err and "\n" not in err
    out = metarl_script(*argv, "--import", "no_such_plugin", cwd=tmp_path)
    assert out.returncode == 2 and "'no_such_plugin'" in out.stderr


def test_every_command_is_listed(tmp_path: Path, metarl_script) -> None:
    out = metarl_script("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("run", "status", "best", "worker", "learner", "propose", "compare"):
        assert f"    {command} " in out.stdout
