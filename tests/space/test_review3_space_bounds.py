"""Review 3, defect 7: a non-finite bound (inf, -inf, NaN) is refused in one line naming
the parameter, in Python and in a YAML space file (it gave configs ``{'x': inf}``, or
configs without the parameter at all)."""

from __future__ import annotations

import math

import pytest

from metarl import Fidelity, Float, Integer, SearchSpace
from metarl.space import SpaceError

BAD = [math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("which", ["low", "high"])
def test_float_refuses_a_non_finite_bound(bad, which) -> None:
    bounds = {"low": 1.0, "high": 2.0} | {which: bad}
    with pytest.raises(SpaceError, match=r"parameter 'x': .*finite") as e:
        SearchSpace({"x": Float(**bounds)})
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad", BAD)
def test_fidelity_and_integer_refuse_non_finite_values(bad) -> None:
    with pytest.raises(SpaceError, match=r"parameter 'f': .*finite"):
        SearchSpace({"x": Float(0, 1), "f": Fidelity(1, bad)})
    with pytest.raises(SpaceError, match=r"parameter 'f': "):
        SearchSpace({"x": Float(0, 1), "f": Fidelity(1, 10, full=bad)})
    with pytest.raises(SpaceError, match=r"parameter 'n': "):
        SearchSpace({"n": Integer(0, bad)})


@pytest.mark.parametrize(
    "bound", ["low: 0, high: .inf", "low: .nan, high: 1", "low: -.inf, high: 1"]
)
def test_yaml_space_refuses_a_non_finite_bound(tmp_path, bound) -> None:
    p = tmp_path / "space.yaml"
    p.write_text(f"x: {{type: float, {bound}}}\n")
    with pytest.raises(SpaceError, match=r"parameter 'x': .*finite"):
        SearchSpace.from_yaml(p)


def test_finite_bounds_still_work() -> None:
    space = SearchSpace({"x": Float(1e-300, 1e300, log=True), "n": Integer(-5, 5)})
    for c in space.sample(4, seed=0):
        assert math.isfinite(c["x"]) and -5 <= c["n"] <= 5
