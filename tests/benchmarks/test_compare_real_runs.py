"""benchmarks/compare_real_runs.py: runs of several folders merged (the first folder's run of
a (task, seed, sampler) wins), paired comparisons and worst seeds; and the
bench_real_training variants of the hedge and the family rotation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
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


def test_stall_variant(mods) -> None:
    bench, _ = mods
    kw = bench.make_sampler("metarl-stall5", 0).policy_kwargs
    assert kw == {"acquisition": "ucb", "kappa": 2.0, "hedge": "tpe", "hedge_after": 5}
    kw = bench.make_sampler("metarl-stall8-tpe3", 0).policy_kwargs
    assert kw["hedge_after"] == 8 and kw["hedge_every"] == 3
    assert bench._metarl_variant("metarl-stallx") is None


def test_heldout_tasks_are_large_and_train(mods) -> None:
    """wine and diabetes: spaces of ~2**40 configs whose trainers give a finite value,
    the chance value when no column is kept."""
    from _heldout_tasks import train_diabetes, train_wine  # noqa: PLC0415

    bench, _ = mods
    for name, train, chance in (("wine", train_wine, 71 / 178), ("diabetes", train_diabetes, 0)):
        task = bench.make_task(name)
        assert task.space.cardinality >= 2**40
        config = _first(task.space)
        task.space.validate(config)
        assert np.isfinite(task.make_trainer(0)(config))
        dropped = config | {k: "drop" for k in config if k.startswith("c") and k[1:].isdigit()}
        assert train(dropped, 0) == pytest.approx(chance)


def _first(space) -> dict:
    """A config of ``space``: every column standard-scaled, the first model, grid centres."""
    from metarl.agents._sampling import sample_grid  # noqa: PLC0415

    config = space.to_configs(sample_grid(space, 1, np.random.default_rng(0)))[0]
    return config | {k: "standard" for k in config if k.startswith("c") and k[1:].isdigit()}
