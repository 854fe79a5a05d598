"""Reading one cell of a table of past runs: Subset cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from metarl.metadata import RunDataError, load_runs
from metarl.metadata._cells import parse_value
from metarl.space import Float, SearchSpace, Subset


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace({"f": Subset(["a", "b", "c;d"]), "x": Float(0.0, 1.0)})


def test_subset_cells_in_the_accepted_formats(space: SearchSpace) -> None:
    p = space.params["f"]
    assert parse_value(p, "a|b") == ("a", "b")
    assert parse_value(p, " a | b ") == ("a", "b")
    assert parse_value(p, "['a', 'b']") == ("a", "b")
    assert parse_value(p, "a") == ("a",)
    assert parse_value(p, "c;d") == ("c;d",)  # an item whose name holds a separator
    assert parse_value(p, "a|c;d") == ("a", "c;d")


@pytest.mark.parametrize("cell", ["a;b", "a,b", "a, b"])
def test_subset_cell_with_another_separator_is_refused(space: SearchSpace, cell: str) -> None:
    with pytest.raises(ValueError, match=r"separate items with '\|' \(a\|b\).*'f\[item\]'"):
        parse_value(space.params["f"], cell)


def test_load_runs_names_the_line_of_such_a_cell(space: SearchSpace, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text('f,x,y\na|b,0.5,1.0\n"a,b",0.2,2.0\n')
    with pytest.raises(RunDataError, match=r"runs.csv: line 3: parameter 'f': .*'\|' \(a\|b\)"):
        load_runs(path, space, "y")


def test_fidelity_cells_are_numbers() -> None:
    from metarl.space import Fidelity

    space = SearchSpace(
        {"x": Float(0.0, 1.0), "epochs": Fidelity(1, 50), "frac": Fidelity(0.05, 1.0, log=True)}
    )
    assert parse_value(space.params["epochs"], " 10 ") == 10
    assert isinstance(parse_value(space.params["epochs"], "10.0"), int)
    assert parse_value(space.params["frac"], "0.25") == 0.25
    assert parse_value(space.params["frac"], "1") == 1.0


def test_load_runs_reads_a_fidelity_column(tmp_path: Path) -> None:
    from metarl.space import Fidelity

    space = SearchSpace({"x": Float(0.0, 1.0), "epochs": Fidelity(1, 50)})
    path = tmp_path / "runs.csv"
    path.write_text("x,epochs,y\n0.5,10,1.0\n0.2,50,2.0\n0.3,,3.0\n")
    data = load_runs(path, space, "y")
    assert [c["epochs"] for c in data.configs] == [10, 50, 50]  # empty: at full fidelity
    assert data.M[:, space.names.index("epochs")].tolist() == [10.0, 50.0, 50.0]
