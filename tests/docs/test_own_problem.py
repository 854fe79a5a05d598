"""README "Your own problem": the example files are the README's blocks, and each command runs
as a user would run it, from a copy of ``examples/own_problem/`` in a fresh folder with no
PYTHONPATH (budgets cut so the runs stay short)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.docs.conftest import README, ROOT, fenced_blocks, section

EXAMPLE = ROOT / "examples" / "own_problem"
SHOWN = ("my_trainer.py", "space.yaml", "my.yaml", "study_api.py", "optuna_sampler.py")


def own_problem() -> str:
    return section(README.read_text(), "## Your own problem")


def commands(step: str) -> list[str]:
    """The command lines of the first bash block after the paragraph starting with ``step``."""
    text = own_problem()
    block = next(code for lang, code in fenced_blocks(text[text.index(step) :]) if lang == "bash")
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the example, as a user's folder; nothing from the repository around it."""
    dest = tmp_path / "wine"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("*.db", "*.artifacts", "*.mrl"))
    return dest


def cut(folder: Path, name: str, old: str, new: str) -> None:
    """Cut a script's budget (the replaced text must be there, so a renamed one fails)."""
    path = folder / name
    text = path.read_text()
    assert text.count(old) == 1, f"{name} no longer holds {old!r}"
    path.write_text(text.replace(old, new))


def test_the_readme_shows_each_example_file_verbatim() -> None:
    blocks = [code.rstrip("\n") for lang, code in fenced_blocks(own_problem()) if lang != "bash"]
    for name in SHOWN:
        assert (EXAMPLE / name).read_text().rstrip("\n") in blocks, f"README differs from {name}"
    shown = {(EXAMPLE / n).read_text().rstrip("\n") for n in SHOWN}
    unknown = [b for b in blocks if b not in shown and not b.startswith("round  origin")]
    assert not unknown, f"README blocks that are no example file: {unknown}"
    assert sorted(p.name for p in EXAMPLE.iterdir() if p.suffix in (".py", ".yaml")) == sorted(
        SHOWN
    )


def test_the_python_space_is_the_yaml_space_and_too_large_to_enumerate(folder, user_run) -> None:
    code = (
        "import study_api; from metarl import SearchSpace; from metarl._defaults import "
        "ENUMERABLE; s = SearchSpace.from_yaml('space.yaml'); "
        "print(s.fingerprint() == study_api.space.fingerprint(), s.cardinality > ENUMERABLE, "
        "round(s.cardinality / 1e6, 1))"
    )
    out = user_run(f'python -c "{code}"', cwd=folder)  # the guard keeps the Study from running
    assert out.returncode == 0, out.stderr
    same, too_large, millions = out.stdout.split()
    assert same == "True" and too_large == "True"  # so the README's "PPO designs" holds
    assert f"{millions} million configs" in own_problem().replace("\n", " ")


def test_run_status_best_from_the_readme(folder, user_run) -> None:
    run, status, best = commands("**3. Run it")
    assert run == "metarl run my.yaml"
    # only the initial design (10 real trainings), so the test is short: the import of
    # my_trainer from the YAML's folder, the storage, and what status and best print
    out = user_run(run + " --budget 10 --no-progress", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "10 evaluations (0 failed)" in out.stdout and "best cv_acc = " in out.stdout
    assert "pip install 'metarl[dashboard]'" in out.stdout
    out = user_run(status, cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "10 complete, 0 failed" in out.stdout
    out = user_run(best, cwd=folder)
    assert out.returncode == 0, out.stderr
    values = [float(line.split("=")[1]) for line in out.stdout.splitlines() if "cv_acc =" in line]
    assert len(values) == 3 and values == sorted(values, reverse=True) and values[0] > 0.8


@pytest.mark.slow
def test_run_fits_the_learner_and_proposes(folder, user_run) -> None:
    out = user_run("metarl run my.yaml --budget 15 --no-progress", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "15 evaluations (0 failed)" in out.stdout
    rounds = [line.split() for line in out.stdout.splitlines() if " auto " in line]
    assert rounds and rounds[0][2] == "10"  # a round of the policy, on the 10 initial results


@pytest.mark.slow
def test_study_script(folder, user_run) -> None:
    cut(folder, "study_api.py", "budget=30", "budget=12")
    out = user_run("python study_api.py", cwd=folder)
    assert out.returncode == 0, out.stderr
    value, config = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert float(value) > 0.8 and "'model'" in config
    out = user_run("metarl status --storage sqlite:///wine.db --study wine_py", cwd=folder)
    assert "12 complete, 0 failed" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_optuna_sampler_script(folder, user_run) -> None:
    cut(folder, "optuna_sampler.py", "n_trials=30", "n_trials=13")
    out = user_run("python optuna_sampler.py", cwd=folder)
    assert out.returncode == 0, out.stderr
    value, params = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert float(value) > 0.8 and "'model'" in params


@pytest.mark.slow
def test_past_runs_commands_from_the_readme(folder, user_run) -> None:
    fit, propose = commands("**6. Runs you already have**")
    out = user_run(fit, cwd=folder)
    assert out.returncode == 0, out.stderr
    assert "30 runs of past_runs.csv" in out.stdout and "predict the mean" in out.stdout
    assert (folder / "learner.mrl").exists()
    out = user_run(propose, cwd=folder)
    assert out.returncode == 0, out.stderr
    proposals = [line for line in out.stdout.splitlines() if "cv_acc" in line and "±" in line]
    assert len(proposals) == 5, out.stdout
