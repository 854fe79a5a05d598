"""Review 4, defect 1: the ``focus`` section of a space's dict form (a stored study's
``metarl:space``, a space file) is rebuilt as written. The rule that narrows a focused
child's parents (or refuses a numeric parent with several activating values) applies to a
focus given for a search (``restrict``), so a study stored before the rule keeps its space
and fingerprint."""

from __future__ import annotations

import pytest

from metarl.space import Categorical, Float, Integer, SearchSpace, SpaceError

NUMERIC = {
    "depth": {"type": "integer", "low": 1, "high": 4},
    "w3": {"type": "float", "low": 0.0, "high": 1.0, "active_if": {"depth": [3, 4]}},
    "x": {"type": "float", "low": 0.0, "high": 1.0},
}
CATEGORICAL = {
    "model": {"type": "categorical", "choices": ["a", "b", "c"]},
    "C": {"type": "float", "low": 0.0, "high": 1.0, "active_if": {"model": ["a"]}},
    "x": {"type": "float", "low": 0.0, "high": 1.0},
}


def _literal(child: str, parent: str) -> SearchSpace:
    """The space a study stored before the rule: only ``child`` restricted, built without
    ``from_dict`` (its parent left whole)."""
    if parent == "depth":
        params = {"depth": Integer(1, 4), "w3": Float(0.0, 1.0, active_if={"depth": [3, 4]})}
    else:
        params = {"model": Categorical(["a", "b", "c"])}
        params["C"] = Float(0.0, 1.0, active_if={"model": ["a"]})
    params[child] = params[child].restrict("ranges", [0.2, 0.5])
    return SearchSpace({**params, "x": Float(0.0, 1.0)})


@pytest.mark.parametrize(
    ("params", "child", "parent"), [(NUMERIC, "w3", "depth"), (CATEGORICAL, "C", "model")]
)
def test_a_stored_focus_on_a_conditional_parameter_is_rebuilt_as_written(
    params: dict, child: str, parent: str
) -> None:
    d = {"params": params, "focus": {"ranges": {child: [0.2, 0.5]}}}
    space = SearchSpace.from_dict(d)  # was: refused (numeric parent) or parent narrowed
    assert space.focus == {"ranges": {child: [0.2, 0.5]}}
    assert space.to_dict() == d
    assert space.fingerprint() == _literal(child, parent).fingerprint()


def test_a_focus_given_for_a_search_still_follows_the_rule() -> None:
    whole = SearchSpace.from_dict({"params": CATEGORICAL})
    sub = whole.restrict(ranges={"C": [0.2, 0.5]})
    assert sub.focus == {"fixed": {"model": "a"}, "ranges": {"C": [0.2, 0.5]}}
    assert SearchSpace.from_dict(sub.to_dict()) == sub  # the narrowed parent is stored too
    with pytest.raises(SpaceError, match="fix 'depth' to one of"):
        SearchSpace.from_dict({"params": NUMERIC}).restrict(ranges={"w3": [0.2, 0.5]})


def test_the_refusal_names_a_range_only_when_one_is_accepted() -> None:
    space = SearchSpace(
        {
            "n": Integer(1, 6),
            "u": Integer(8, 64, active_if={"n": [3, 4]}),
            "w": Float(0.0, 1.0, active_if={"n": [2, 5]}),
        }
    )
    with pytest.raises(SpaceError, match=r"fix 'n' to one of \[3, 4\].*the range \[3, 4\]"):
        space.restrict(fixed={"u": 16})
    sub = space.restrict(ranges={"n": [3, 4]}, fixed={"u": 16})  # the range it names
    assert sub.focus == {"fixed": {"u": 16}, "ranges": {"n": [3, 4]}}
    with pytest.raises(SpaceError) as e:
        space.restrict(fixed={"w": 0.5})
    assert str(e.value).endswith("fix 'n' to one of [2, 5] in the focus")  # no range would do
    with pytest.raises(SpaceError, match="never active|fix 'n'"):
        space.restrict(ranges={"n": [2, 5]}, fixed={"w": 0.5})
