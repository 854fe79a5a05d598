"""docs/CONFIG.md against the code: the keys ``metarl run`` accepts and their defaults, the
space's parameter types and their keys, and the CSV formats of past runs, which are read here
by the real reader."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from metarl.cli._run import KEYS
from metarl.metadata import load_runs
from metarl.space import SearchSpace
from metarl.space._restrict import FOCUS_KEYS
from metarl.space._serialize import _SECTIONS, KINDS
from metarl.study import Study
from metarl.study._direction import MAXIMIZE_WORDS, MINIMIZE_WORDS
from tests.docs.conftest import ROOT, fenced_blocks, section

CONFIG = (ROOT / "docs" / "CONFIG.md").read_text()
_TICKED = re.compile(r"`([^`]+)`")


def table(text: str, header: str) -> list[list[str]]:
    """The body rows (lists of cells) of the Markdown table of ``text`` whose header line
    starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:  # after the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def ticked(cell: str) -> list[str]:
    return _TICKED.findall(cell)


def run_rows() -> dict[str, list[str]]:
    rows = table(CONFIG, "| key | type | default |")
    return {ticked(r[0])[0]: r for r in rows}


def test_every_run_key_is_documented_and_nothing_else() -> None:
    assert sorted(run_rows()) == sorted(KEYS)


@pytest.mark.parametrize("key", sorted(KEYS))
def test_the_documented_default_is_the_codes(key: str) -> None:
    default_cell = run_rows()[key][2]
    assert yaml.safe_load(ticked(default_cell)[0]) == KEYS[key], default_cell


def test_study_takes_the_run_keys_as_keywords() -> None:
    # README: "a Study, whose keyword arguments are the YAML's keys (budget goes to optimize)"
    params = set(inspect.signature(Study).parameters)
    assert set(KEYS) - {"budget", "task", "trainer_kwargs"} <= params
    assert "budget" in inspect.signature(Study.optimize).parameters


def test_every_parameter_type_and_its_keys_are_documented() -> None:
    rows = table(CONFIG, "| type | keys |")
    documented = {ticked(r[0])[0]: set(ticked(r[1])) for r in rows}
    assert sorted(documented) == sorted(KINDS)
    for kind, cls in KINDS.items():
        keys = set(inspect.signature(cls.__init__).parameters) - {"self"}
        # the keys cell names the keys; values it quotes (`high`, `false`) are not keys
        assert keys <= documented[kind], f"{kind}: {keys - documented[kind]} undocumented"
        extra = {k for k in documented[kind] - keys if re.fullmatch(r"[a-z_]+", k)}
        assert extra <= {"false", "true"}, f"{kind}: {extra} documented but not accepted"


def test_space_sections_and_focus_keys_are_documented() -> None:
    sections = table(CONFIG, "| key | meaning |")
    assert {ticked(r[0])[0] for r in sections} == _SECTIONS
    focus = table(CONFIG, "| focus key |")
    assert [ticked(r[0])[0] for r in focus] == list(FOCUS_KEYS)


def test_the_space_example_is_a_space() -> None:
    (code,) = [c for lang, c in fenced_blocks(section(CONFIG, "## Space")) if lang == "yaml"]
    space = SearchSpace.from_dict(yaml.safe_load(code))
    assert space.names == ["features", "model", "C", "max_depth"]


def test_both_csv_examples_read_as_the_same_runs(tmp_path: Path) -> None:
    space_yaml = next(c for lang, c in fenced_blocks(CONFIG) if lang == "yaml")
    space = SearchSpace.from_dict(yaml.safe_load(space_yaml))
    csvs = [c for lang, c in fenced_blocks(section(CONFIG, past_runs_heading())) if lang == "csv"]
    assert len(csvs) == 2
    runs = []
    for i, text in enumerate(csvs):
        path = tmp_path / f"runs{i}.csv"
        path.write_text(text)
        runs.append(load_runs(path, space, "cv_acc", direction="maximize"))
    assert runs[0].configs == runs[1].configs and len(runs[0]) == 3
    np.testing.assert_array_equal(runs[0].y, runs[1].y)
    assert runs[0].configs[0] == {"features": ("alcohol", "proline"), "model": "logreg", "C": 0.5}


def test_refused_subset_separators_name_the_documented_formats(tmp_path: Path) -> None:
    space_yaml = next(c for lang, c in fenced_blocks(CONFIG) if lang == "yaml")
    space = SearchSpace.from_dict(yaml.safe_load(space_yaml))
    path = tmp_path / "runs.csv"
    path.write_text('features,model,C,max_depth,cv_acc\n"alcohol;proline",logreg,0.5,,0.9\n')
    with pytest.raises(ValueError, match=r"a\|b.*features\[item\]"):
        load_runs(path, space, "cv_acc", direction="maximize")
    assert "Cells separated by `,` or `;` are refused" in CONFIG


def test_the_direction_words_are_the_codes() -> None:
    text = section(CONFIG, past_runs_heading())
    up = text.split("read from the name (", 1)[1].split(": maximize", 1)[0]
    down = text.split(": maximize;", 1)[1].split(": minimize", 1)[0]
    assert set(ticked(up)) <= MAXIMIZE_WORDS and set(ticked(down)) <= MINIMIZE_WORDS


def past_runs_heading() -> str:
    return next(line for line in CONFIG.splitlines() if line.startswith("## Past runs"))
