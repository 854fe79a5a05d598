"""Review 6, F4: a categorical's ``choices`` or a subset's ``items`` given as a string (YAML
``choices: relu`` or ``choices: relu, tanh``; ``Categorical("relu")``) is refused in one
line, instead of being split into one choice per character. A list of one-character
strings given as a list, as a stored study holds one, stays legal."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from metarl import Categorical, SearchSpace, SpaceError, Subset
from metarl.learners import ForestLearner
from metarl.study import Study


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "act: {type: categorical, choices: relu}\n",
            "parameter 'act': choices must be a list, got the string 'relu'",
        ),
        (
            "opt:\n  type: categorical\n  choices: relu, tanh\n",
            "parameter 'opt': choices must be a list, got the string 'relu, tanh'",
        ),
        (
            "f: {type: subset, items: abc}\n",
            "parameter 'f': items must be a list, got the string 'abc'",
        ),
        ("n: {type: categorical, choices: 5}\n", "parameter 'n': choices must be a list, got 5"),
        (
            "m: {type: categorical, choices: {a: 1}}\n",
            "parameter 'm': choices must be a list, got {'a': 1}",
        ),
    ],
)
def test_a_yaml_string_of_choices_is_refused_naming_the_parameter(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(yaml_text)
    with pytest.raises(SpaceError) as info:
        SearchSpace.from_yaml(path)
    assert str(info.value) == f"{path}: {message}"


def test_the_python_constructors_refuse_a_string() -> None:
    with pytest.raises(SpaceError, match="^choices must be a list, got the string 'relu'$"):
        Categorical("relu")
    with pytest.raises(SpaceError, match="^items must be a list, got the string 'abc'$"):
        Subset("abc")


def test_sequences_that_are_not_lists_are_still_accepted() -> None:
    assert Categorical(("a", "b")).choices == ["a", "b"]
    assert Categorical(range(3)).choices == [0, 1, 2]
    assert Subset(("x", "y")).items == ["x", "y"]


def test_a_stored_space_of_one_character_choices_still_loads(tmp_path: Path) -> None:
    """A study stored with the space the old code built from ``choices: relu`` (a list of
    characters) is reopened: its stored dict form is a list, which stays legal."""
    space = SearchSpace({"act": Categorical(list("relu")), "f": Subset(list("abc"))})
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def trainer(config: dict) -> dict:
        return {"loss": float("relu".index(config["act"]) + len(config["f"]))}

    kw = {
        "metric": "loss",
        "study_name": "s",
        "learner": ForestLearner(n_estimators=5),
        "policy": "random",
        "executor": "thread",
        "n_init": 2,
        "batch_size": 2,
    }
    Study(space, trainer, storage=storage, **kw).optimize(2)
    stored = optuna.load_study(study_name="s", storage=storage).user_attrs["metarl:space"]
    assert stored["act"]["choices"] == ["r", "e", "l", "u"]
    assert SearchSpace.from_dict(stored).fingerprint() == space.fingerprint()
    again = Study(space, trainer, storage=storage, **kw)
    again.optimize(4)
    assert len(again.trials()) == 4


def test_a_set_is_refused_since_its_order_varies_between_processes() -> None:
    with pytest.raises(SpaceError, match="choices must be a list, got a set"):
        Categorical({"relu", "tanh"})
    with pytest.raises(SpaceError, match="items must be a list, got a set"):
        Subset(frozenset({"a", "b"}))
