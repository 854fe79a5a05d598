"""A new focus narrows only what it names (and the parents those need): a stored focus on a
conditional parameter, read as written, is not re-judged by a later focus on another
parameter (review 5 R1)."""

import pytest

from metarl.space import SearchSpace

from .test_review4_stored_focus import _literal


@pytest.mark.parametrize(("child", "parent"), [("w3", "depth"), ("C", "model")])
def test_a_later_focus_leaves_a_stored_focus_as_written(child: str, parent: str) -> None:
    stored = SearchSpace.from_dict(_literal(child, parent).to_dict())
    sub = stored.restrict(ranges={"x": [0.0, 0.5]})  # was: refused, or the parent narrowed
    assert sub.focus == {"ranges": {child: [0.2, 0.5], "x": [0.0, 0.5]}}


def test_naming_the_stored_child_again_applies_the_rule() -> None:
    stored = SearchSpace.from_dict(_literal("C", "model").to_dict())
    sub = stored.restrict(ranges={"C": [0.3, 0.4]})
    assert sub.focus["fixed"] == {"model": "a"}
