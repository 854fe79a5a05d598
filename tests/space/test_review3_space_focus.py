"""Review 3, defect 12: a focus on a conditional parameter holds only configs where that
parameter is active: its parents are narrowed to the values that activate it, and a focus
that leaves it never active is refused in one line naming it and its parent."""

from __future__ import annotations

import json

import pytest

from metarl import Boolean, Categorical, Float, Integer, SearchSpace, Study
from metarl.space import SpaceError


def _space() -> SearchSpace:
    return SearchSpace(
        {
            "model": Categorical(["a", "b", "nn"]),
            "C": Float(0.1, 10, log=True, active_if={"model": ["a"]}),
            "d": Integer(1, 20, active_if={"model": ["b"]}),
            "opt": Categorical(["adam", "sgd"], active_if={"model": ["nn"]}),
            "momentum": Float(0.0, 1.0, active_if={"opt": ["sgd"]}),
            "n_layers": Integer(1, 4),
            "units": Integer(8, 64, active_if={"n_layers": [3, 4]}),
            "scale": Boolean(),
        }
    )


def test_fixing_a_child_also_fixes_the_parent_that_activates_it() -> None:
    sub = _space().restrict(fixed={"C": 1.0})
    assert sub.focus == {"fixed": {"model": "a", "C": 1.0}}
    configs = sub.sample(20, seed=0)
    assert all(c["model"] == "a" and c["C"] == 1.0 for c in configs)
    assert not sub.contains({"model": "b", "d": 3, "n_layers": 1, "scale": True})
    assert SearchSpace.from_dict(sub.to_dict()) == sub


def test_a_chain_of_conditions_is_narrowed_to_the_root() -> None:
    sub = _space().restrict(ranges={"momentum": [0.5, 0.9]})
    assert sub.focus["fixed"] == {"model": "nn", "opt": "sgd"}
    assert all(0.5 <= c["momentum"] <= 0.9 for c in sub.sample(20, seed=1))


def test_a_parent_allowing_more_values_is_narrowed_to_the_activating_ones() -> None:
    sub = _space().restrict(choices={"model": ["a", "b"]}, fixed={"C": 2.0})
    assert sub.focus == {"fixed": {"model": "a", "C": 2.0}}


@pytest.mark.parametrize(
    "focus",
    [
        {"fixed": {"model": "b", "C": 1.0}},
        {"choices": {"model": ["b", "nn"]}, "ranges": {"C": [0.5, 2.0]}},
        {"fixed": {"model": "a", "momentum": 0.5}},  # momentum needs model nn, opt sgd
        {"fixed": {"opt": "adam", "momentum": 0.5}},
        {"fixed": {"n_layers": 2, "units": 16}},
    ],
)
def test_a_focused_parameter_never_active_in_the_focus_is_refused(focus) -> None:
    with pytest.raises(SpaceError) as e:
        _space().restrict(**focus)
    msg = str(e.value)
    child = next(n for n in ("C", "momentum", "units") if any(n in f for f in focus.values()))
    assert f"parameter {child!r} is never active in the focus" in msg and "\n" not in msg


def test_a_numeric_parent_with_several_activating_values_must_be_fixed() -> None:
    with pytest.raises(SpaceError, match=r"'units'.*fix 'n_layers' to one of \[3, 4\]"):
        _space().restrict(fixed={"units": 16})
    sub = _space().restrict(fixed={"n_layers": 3, "units": 16})
    assert sub.focus == {"fixed": {"n_layers": 3, "units": 16}}
    sub = _space().restrict(ranges={"n_layers": [3, 4]}, fixed={"units": 16})
    assert sub.focus == {"fixed": {"units": 16}, "ranges": {"n_layers": [3, 4]}}


def test_unconditional_and_consistent_focuses_are_unchanged() -> None:
    focus = {"fixed": {"model": "a", "scale": True}, "ranges": {"C": [0.5, 2.0]}}
    assert _space().restrict(**focus).focus == focus


def _study(focus: dict) -> Study:
    return Study(
        _space(),
        lambda c: {"loss": c.get("C", 0.0) + c.get("d", 0)},
        metric="loss",
        direction="minimize",
        executor="thread",
        n_workers=1,
        n_init=4,
        batch_size=2,
        focus=focus,
    )


def test_study_focus_on_a_child_evaluates_only_configs_holding_it() -> None:
    s = _study({"fixed": {"C": 1.0}})
    s.optimize(6)
    configs = [s.config_of(t) for t in s.trials()]
    assert len(configs) == 6 and all(c["C"] == 1.0 and c["model"] == "a" for c in configs)


def test_study_refuses_a_contradictory_focus() -> None:
    with pytest.raises((SpaceError, ValueError), match="'C' is never active in the focus"):
        _study({"fixed": {"model": "b", "C": 1.0}})


def test_propose_refuses_a_contradictory_focus(tmp_path, capsys) -> None:
    import pandas as pd

    from metarl.cli import main

    space = _space()
    (tmp_path / "space.yaml").write_text(json.dumps(space.to_dict()))
    runs = pd.DataFrame(space.sample(30, seed=0))
    runs["loss"] = range(30)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    sp, out = str(tmp_path / "space.yaml"), str(tmp_path / "l.mrl")
    fit = ["learner", "fit", "--runs", str(tmp_path / "runs.csv"), "--space", sp]
    assert main([*fit, "--target", "loss", "--learner", "linear", "--out", out]) == 0
    capsys.readouterr()
    focus = json.dumps({"fixed": {"model": "b", "C": 1.0}})
    args = ["propose", "--learner", out, "--space", sp, "--focus", focus, "--n", "2"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'C' is never active in the focus" in err[0]
