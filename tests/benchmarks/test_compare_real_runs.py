"""benchmarks/compare_real_runs.py: runs of several folders merged (the first folder's run of
a (task, seed, sampler) wins), paired comparisons and worst seeds; and the
bench_real_training variants of the hedge and the family rotation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def mods():
    sys.path.insert(0, str(BENCH))
    import bench_real_training
    import compare_real_runs

    return bench_real_training, compare_real_runs


def _write(bench, folder: Path, rows: list[tuple[str, int, str, list[float]]]) -> None:
    folder.mkdir(parents=True)
    runs = []
    for task, seed, sampler, best in rows:
        run = {k: 0.0 for k in bench.RUN_FIELDS}
        run |= {"task": task, "seed": seed, "sampler": sampler, "trials": len(best)}
        run |= {"best": best, "n_pruned": 0, "n_duplicates": 0, "error": ""}
        runs.append(bench._run_row(run, [1, 2]))
    bench._append(folder / "runs.csv", bench.RUN_FIELDS, runs)


def test_folders_merge_and_pairs_compare(mods, tmp_path, capsys) -> None:
    bench, cmp = mods
    _write(bench, tmp_path / "a", [("t", 0, "x", [0.5, 0.9]), ("t", 1, "x", [0.5, 0.6])])
    _write(
        bench,
        tmp_path / "b",
        [("t", 0, "x", [0.1, 0.1]), ("t", 0, "y", [0.5, 0.7]), ("t", 1, "y", [0.5, 0.8])],
    )
    runs = cmp.merged_runs([tmp_path / "a", tmp_path / "b"])
    assert len(runs) == 4  # b's (t, 0, x) is shadowed by a's
    r = cmp.paired(runs, "x", "y", 2, ["t"])
    assert (r["pairs"], r["above"], r["below"]) == (2, 1, 1)
    assert r["mean"] == pytest.approx((0.2 - 0.2) / 2)
    s = cmp.main([str(tmp_path / "a"), str(tmp_path / "b"), "--samplers", "x,y",
                  "--budgets", "1,2", "--against", "y"])  # fmt: skip
    assert s["rank"]["x"]["mean"] == [1.5, 1.5]
    out = capsys.readouterr().out
    assert "x                    @2    1 / 1  of 2" in out
    assert "t 0.6000 (seed 1)" in out  # x's worst seed @2
    with pytest.raises(SystemExit, match="no runs of"):
        cmp.main([str(tmp_path / "a"), "--samplers", "x,z"])


def test_hedge_and_family_variants(mods) -> None:
    bench, _ = mods
    kw = bench.make_sampler("metarl-tpe2-ucb0.5", 0).policy_kwargs
    assert kw == {"acquisition": "ucb", "kappa": 0.5, "hedge": "tpe", "hedge_every": 2}
    kw = bench.make_sampler("metarl-tr0.5f3-fam8", 0).policy_kwargs
    assert kw["trust_region"] == {"init": 0.5, "fail_tol": 3, "family_after": 8}
    assert bench.make_sampler("metarl-fam8", 0).policy_kwargs["trust_region"] == {"family_after": 8}
    assert bench._metarl_variant("metarl-famx") is None
