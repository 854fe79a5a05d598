"""Review 3, defect 11: a trainer module that raises while importing (RuntimeError,
SyntaxError, ...) is refused in one line that names the trainer and the error's type."""

from __future__ import annotations

import sys

import pytest

from metarl.cli import main
from metarl.trainers import TrainerSpec

MODULES = {
    "bad_rt": (
        'raise RuntimeError("no GPU found")\ndef train(c): return {}\n',
        "RuntimeError: no GPU found",
    ),
    "bad_syntax": ("def train(c)\n    return {}\n", "SyntaxError: "),
}


@pytest.fixture
def bad_modules(tmp_path, monkeypatch):
    for name, (code, _) in MODULES.items():
        (tmp_path / f"{name}.py").write_text(code)
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("module", sorted(MODULES))
def test_spec_names_the_trainer_and_the_error(bad_modules, module) -> None:
    with pytest.raises(ValueError) as e:
        TrainerSpec("import", f"{module}:train").build()
    msg = str(e.value)
    assert msg.startswith(f"trainer '{module}:train' cannot be imported: {MODULES[module][1]}")
    assert "\n" not in msg


@pytest.mark.parametrize("module", sorted(MODULES))
def test_run_names_the_trainer_in_one_line(bad_modules, capsys, module) -> None:
    (bad_modules / "c.yaml").write_text(
        "space: {x: {type: float, low: 0, high: 1}}\n"
        f"trainer: {module}:train\nmetric: loss\nstorage: sqlite:///y.db\n"
    )
    before = sorted(p.name for p in bad_modules.iterdir())
    assert main(["run", "c.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"metarl run: error: trainer '{module}:train' cannot be imported: {MODULES[module][1]}"
    )
    assert sorted(p.name for p in bad_modules.iterdir() if p.name != "__pycache__") == before


def test_a_missing_module_is_named_once(bad_modules, capsys) -> None:
    (bad_modules / "c.yaml").write_text(
        "space: {x: {type: float, low: 0, high: 1}}\n"
        "trainer: no_such_mod_r3:train\nmetric: loss\nstorage: sqlite:///y.db\n"
    )
    assert main(["run", "c.yaml", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "metarl run: error: trainer 'no_such_mod_r3:train' cannot be imported: "
        "No module named 'no_such_mod_r3'"
    )


def test_a_failing_factory_is_named(bad_modules, capsys) -> None:
    (bad_modules / "fac.py").write_text("def make(scale):\n    raise OSError('no data at /d')\n")
    with pytest.raises(ValueError, match=r"^trainer 'fac:make' cannot be built: OSError: no data"):
        TrainerSpec("import", "fac:make", {"scale": 2}).build()
