"""Review 6, F5: ``metarl propose --runs`` whose runs hold every config of the space (or of
the ``--focus``) proposes nothing, says so in one line and exits 0, as ``propose --n`` on a
small space warns and returns fewer (was: an sklearn error on an empty matrix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metarl.cli import main

SPACE = "m: {type: categorical, choices: [a, b]}\ns: {type: boolean}\n"
RUNS = "m,s,loss\na,true,1\nb,false,2\na,false,3\nb,true,2.5\n" + "a,true,1.2\nb,false,2.1\n" * 3


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text(SPACE)
    (tmp_path / "runs.csv").write_text(RUNS)
    (tmp_path / "three.csv").write_text("\n".join(RUNS.splitlines()[:4]) + "\n")
    fit = ["learner", "fit", "--runs", "runs.csv", "--space", "space.yaml", "--target", "loss"]
    assert main([*fit, "--learner", "linear", "--out", "l.mrl"]) == 0
    return tmp_path


def _propose(*extra: str) -> list[str]:
    return ["propose", "--learner", "l.mrl", "--space", "space.yaml", "--n", "3", *extra]


@pytest.mark.parametrize(
    ("extra", "where"),
    [((), "the space"), (("--focus", '{"fixed": {"m": "a"}}'), 'the focus {"fixed": {"m": "a"}}')],
)
@pytest.mark.parametrize("json_out", [False, True])
def test_runs_covering_every_config_propose_nothing(
    workdir: Path, capsys: pytest.CaptureFixture, extra: tuple, where: str, json_out: bool
) -> None:
    args = _propose("--runs", "runs.csv", *extra, *(["--json"] if json_out else []))
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert f"--runs: every config of {where} is already in --runs: nothing to propose" in err


def test_runs_leaving_fewer_configs_than_asked_say_so(
    workdir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(_propose("--runs", "three.csv")) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 1 and "m=b, s=True" in out
    assert (
        "--runs: asked for 3 configs but found only 1 of the space not in --runs; proposing those"
        in err
    )


def test_the_transfer_path_says_so_too(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    (workdir / "ctx.yaml").write_text(
        "params:\n  m: {type: categorical, choices: [a, b]}\n  s: {type: boolean}\n"
        "context:\n  dataset: {type: categorical, choices: [d1, d2]}\n"
    )
    (workdir / "d1.csv").write_text(RUNS)
    (workdir / "d2.csv").write_text(RUNS)
    args = ["propose", "--space", "ctx.yaml", "--context", "dataset=d2", "--transfer", "d1.csv"]
    assert main([*args, "--runs", "d2.csv", "--learner", "linear", "--target", "loss"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "--runs: every config of the space is already in --runs: nothing to propose" in err
