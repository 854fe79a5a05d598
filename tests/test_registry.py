"""The one registry behind learners, policies and trainers: its rules, and real entry points
of an installed plug-in package (a ``*.dist-info`` folder on the path, as pip writes it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from metarl._registry import Registry
from metarl.agents import available_policies, make_policy, register_policy
from metarl.learners import available_learners, make_learner, register_learner
from metarl.trainers import available_trainers, list_trainers, make_trainer, register_trainer

ROOT = Path(__file__).resolve().parents[1]


class Base:
    def __init__(self, size: int = 1) -> None:
        if size < 0:
            raise TypeError("a TypeError of the constructor itself")
        self.size = size


class Child(Base):
    pass


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A registry whose built-in is a lazy string to a module not imported yet."""
    (tmp_path / "lazy_mod_for_registry.py").write_text(
        "from tests.test_registry import Child\n\nclass Lazy(Child):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return Registry("widget", "metarl.tests.widgets", Base, {"lazy": "lazy_mod_for_registry:Lazy"})


def test_lazy_target_is_imported_on_first_use(reg: Registry) -> None:
    assert "lazy_mod_for_registry" not in sys.modules
    assert reg.available() == ["lazy"]
    assert "lazy_mod_for_registry" not in sys.modules
    assert type(reg.make("lazy", size=3)).__name__ == "Lazy"
    assert "lazy_mod_for_registry" in sys.modules
    del sys.modules["lazy_mod_for_registry"]


def test_reregistering_needs_overwrite(reg: Registry) -> None:
    reg.register("child", Child)
    reg.register("child", Child)  # the same target again: a no-op
    with pytest.raises(ValueError, match="'child' is already registered.*overwrite=True"):
        reg.register("child", Base)
    reg.register("child", Base, overwrite=True)
    assert type(reg.make("child")) is Base
    with pytest.raises(ValueError, match="already registered"):
        reg.register("lazy", Child)


def test_unknown_name_lists_the_available_ones(reg: Registry) -> None:
    reg.register("child", Child)
    with pytest.raises(ValueError, match=r"unknown widget 'nope'; available: child, lazy$"):
        reg.make("nope")


def test_wrong_kind_and_malformed_targets(reg: Registry) -> None:
    with pytest.raises(TypeError, match="widget 'd'.*not a Base subclass"):
        reg.register("d", dict)
    with pytest.raises(ValueError, match="expected 'module:attr'"):
        reg.register("s", "just_a_module")
    with pytest.raises(ValueError, match="non-empty string"):
        reg.register("", Child)
    reg.register("late", "collections:OrderedDict")  # checked when resolved
    with pytest.raises(TypeError, match="'collections:OrderedDict' is not a Base subclass"):
        reg.get("late")


def test_missing_module_is_an_import_error_naming_it(reg: Registry) -> None:
    reg.register("gone", "no_such_module_xyz:Thing")
    with pytest.raises(ImportError, match="widget 'gone': cannot import 'no_such_module_xyz:Th"):
        reg.get("gone")


def test_unknown_keyword_is_named_but_constructor_errors_pass_through(reg: Registry) -> None:
    reg.register("child", Child)
    with pytest.raises(ValueError, match="widget 'child':.*'colour'.*accepted: size"):
        reg.make("child", colour="red")
    with pytest.raises(TypeError, match="of the constructor itself"):
        reg.make("child", size=-1)


def test_copy_is_independent(reg: Registry) -> None:
    other = reg.copy()
    other.register("child", Child)
    assert "child" in other.available() and "child" not in reg.available()


def test_the_three_registries_share_the_rules() -> None:
    for register, make, available, bad in (
        (register_learner, make_learner, available_learners, "learner"),
        (register_policy, make_policy, available_policies, "policy"),
        (register_trainer, make_trainer, available_trainers, "trainer"),
    ):
        with pytest.raises(ValueError, match=f"unknown {bad} 'nope_xyz'; available: "):
            make("nope_xyz")
        with pytest.raises(TypeError, match=f"{bad} 'bad_xyz'"):
            register("bad_xyz", 42)
        first = available()[0]
        with pytest.raises(ValueError, match=f"{bad} '{first}' is already registered"):
            register(first, "elsewhere:Thing")
    assert list_trainers() == available_trainers()


PLUGIN = """
from metarl.agents import RandomPolicy
from metarl.learners import LinearLearner


class MyLearner(LinearLearner):
    pass


class MyPolicy(RandomPolicy):
    pass


def my_trainer(scale=1.0):
    return lambda config: {"loss": scale}
"""

ENTRY_POINTS = """
[metarl.learners]
my_learner = my_plugin:MyLearner
broken_learner = my_plugin_missing_dependency:Learner

[metarl.policies]
my_policy = my_plugin:MyPolicy

[metarl.trainers]
my_trainer = my_plugin:my_trainer
"""

USE = """
from metarl.agents import available_policies, make_policy
from metarl.learners import available_learners, make_learner
from metarl.trainers import available_trainers, make_trainer

assert "my_learner" in available_learners() and "broken_learner" in available_learners()
assert type(make_learner("my_learner")).__name__ == "MyLearner"
assert "my_policy" in available_policies()
assert type(make_policy("my_policy", seed=0)).__name__ == "MyPolicy"
assert "my_trainer" in available_trainers()
assert make_trainer("my_trainer", scale=2.0)({}) == {"loss": 2.0}
try:
    make_learner("broken_learner")
except ImportError as e:
    print(e)
"""


def test_entry_points_of_an_installed_package(tmp_path: Path) -> None:
    (tmp_path / "my_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "my_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    out = subprocess.run(
        [sys.executable, "-c", USE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "learner 'broken_learner': cannot import entry point 'broken_learner' = "
        "'my_plugin_missing_dependency:Learner' (group 'metarl.learners', package "
        "'my-plugin'): No module named 'my_plugin_missing_dependency'"
    )


def test_naming_a_trainer_does_not_load_the_benchmarks() -> None:
    code = (
        "import sys, metarl.trainers as t; t.make_trainer('sklearn'); "
        "print(sorted(m for m in sys.modules if 'bench' in m))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
