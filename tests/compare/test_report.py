"""The comparison's reports: tail statistics, summary.md tables, and what regret.png shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metarl.compare import COLUMNS, rebuild_reports
from metarl.compare._report import (
    count_above,
    headline_table,
    mean_rank,
    quantile_table,
    recommended_runs,
    regret_figure,
    regret_table,
    run_count,
    summary_markdown,
    task_group,
    write_reports,
)

TASKS = ["hpolib/protein_structure", "hpolib/naval_propulsion", "nasbench201/cifar10"]


def _runs(
    tasks: list[str] = TASKS, seeds: int = 4, marks: tuple[int, ...] = (10, 25, 50, 100)
) -> pd.DataFrame:
    """Runs.csv rows with known regrets: 'good' at 0.1 / n-th of the way, 'bad' with one
    catastrophic seed per task (regret 0.8 at every checkpoint) whose recommended config
    (best posterior mean) is fine (0.1); elsewhere the recommended config is the observed
    best."""
    rng = np.random.default_rng(0)
    rows = []
    for task in tasks:
        for seed in range(seeds):
            for n in marks:
                good = 0.1 * 10 / n + 0.01 * rng.random()
                bad = 0.8 if seed == 0 else 0.05 * 10 / n
                for policy, reg in (("good", good), ("bad", bad)):
                    rec = 0.1 if policy == "bad" and seed == 0 else reg
                    rows.append([policy, task, seed, n, 1.0, 1.0, reg, 1.0, rec, 0.5 * n, 0])
    return pd.DataFrame(rows, columns=COLUMNS)


def test_tail_statistics_are_over_task_seed_runs() -> None:
    runs = _runs()
    order = ["good", "bad"]
    q = quantile_table(runs, 0.9, order)
    bad = count_above(runs, 0.5, order)
    for policy in order:
        for n in (10, 25, 50, 100):
            reg = runs.query("policy == @policy and n_evals == @n")["norm_regret"]
            assert q.loc[policy, n] == pytest.approx(np.quantile(reg, 0.9))
            assert bad.loc[policy, n] == (reg > 0.5).sum()
            assert regret_table(runs, order).loc[policy, n] == pytest.approx(reg.mean())
    assert list(bad.loc["bad"]) == [3, 3, 3, 3]  # one catastrophic seed of 4, on 3 tasks
    assert list(bad.loc["good"]) == [0, 0, 0, 0]
    assert (run_count(runs, order) == 12).all().all()
    assert list(q.index) == order and list(q.columns) == [10, 25, 50, 100]
    # the bad policy wins 3 of 4 seeds per task: best mean rank, worst tail
    rank = mean_rank(runs, order)
    assert rank.loc["bad", 100] == pytest.approx(1.25)
    assert q.loc["bad", 100] > q.loc["good", 100]


def test_headline_table_for_the_console() -> None:
    runs = _runs()
    t = headline_table(runs, ["good", "bad"])
    assert list(t.index) == ["good", "bad"]
    assert list(t.columns.get_level_values(0).unique()) == ["mean", "p90", ">0.5"]
    assert t[">0.5"].loc["bad"].tolist() == [3, 3, 3, 3]
    assert t["p90"].loc["good", 50] == quantile_table(runs).loc["good", 50]
    text = t.round(3).to_string()
    assert "p90" in text and "mean" in text


def test_groups_keep_noisy_variants_apart() -> None:
    assert task_group("hpolib/protein_structure") == "hpolib"
    assert task_group("hpolib/protein_structure:noise3") == "hpolib:noise3"
    assert task_group("nasbench201/cifar10:noise3:seeds3") == "nasbench201:noise3:seeds3"


def test_summary_tables() -> None:
    clean = _runs()
    noisy = _runs(["hpolib/protein_structure:noise3"], seeds=3)
    # every noisy run of 'good' is bad, its recommended config too
    noisy.loc[noisy["policy"] == "good", ["norm_regret", "rec_regret"]] = 0.9
    noisy = noisy[(noisy["policy"] == "good") | (noisy["seed"] < 2)]  # 'bad' has 2 seeds
    text = summary_markdown(pd.concat([clean, noisy]), ["good", "bad"])
    sections = text.split("\n## ")
    titles = [s.splitlines()[0] for s in sections[1:]]
    scopes = [
        "all tasks (4 tasks x 4 seeds)",
        "hpolib (2 tasks x 4 seeds)",
        "hpolib:noise3 (1 task x 3 seeds)",
        "nasbench201 (1 task x 4 seeds)",
    ]
    assert titles == [
        *(f"Best observed: {s}" for s in scopes),
        *(f"Recommended (best posterior mean): {s}" for s in scopes),
        "Per task: mean normalised regret @100 (best observed)",
        "Worst runs @100 (best observed)",
        "Mean seconds per run (policy time; evaluations are table look-ups)",
    ]
    for section in sections[1:9]:
        for table in ("Mean normalised", "90th percentile", "Runs with regret above", "Mean rank"):
            assert f"### {table}" in section
    noisy_part = sections[3]
    # unequal numbers of runs: the cells say how many of how many
    assert "### Runs with regret above 0.5 (bad/all)" in noisy_part
    assert "| good | 3/3 | 3/3 | 3/3 | 3/3 |" in noisy_part and "| bad | 1/2 |" in noisy_part
    assert "| good | 3/15 | 3/15 | 3/15 | 3/15 |" in sections[1]
    assert "| bad | 4/14 |" in sections[1]
    assert "### Runs with regret above 0.5 (of 8)" in sections[2]
    assert "| bad | 2 | 2 | 2 | 2 |" in sections[2]
    assert "| bad | hpolib/protein_structure | 0 | 0.800 |" in sections[10]
    assert text.index("| good |") < text.index("| bad |")
    # the recommended config rescues 'bad''s catastrophic seeds, not 'good''s noisy runs
    assert "### Runs with regret above 0.5 (of 8)" in sections[6]
    assert "| bad | 0 | 0 | 0 | 0 |" in sections[6]
    assert "| good | 3/3 | 3/3 | 3/3 | 3/3 |" in sections[7] and "| bad | 0/2 |" in sections[7]


def test_recommended_runs_swap_in_the_recommended_regret() -> None:
    runs = _runs()
    rec = recommended_runs(runs)
    assert (rec["norm_regret"] == runs["rec_regret"]).all()
    assert count_above(rec).loc["bad"].tolist() == [0, 0, 0, 0]
    assert count_above(runs).loc["bad"].tolist() == [3, 3, 3, 3]
    # runs stored before the recommendation was recorded have none
    old = runs.assign(rec_regret=np.nan)
    assert recommended_runs(old).empty
    assert recommended_runs(runs.drop(columns=["rec_true_value", "rec_regret"])).empty


def test_figure_reads_at_a_glance() -> None:
    fig = regret_figure(_runs(), ["good", "bad"])
    axes = fig.axes
    assert len(axes) == 6  # hpolib, nasbench201, all tasks; mean and tail rows
    top = axes[:3]
    assert [ax.get_title() for ax in top] == [
        "hpolib (2 tasks, 4 seeds)",
        "nasbench201 (1 task, 4 seeds)",
        "all tasks (3 tasks, 4 seeds)",
    ]
    for ax in axes:
        assert ax.get_xscale() == "log"  # 10..100
        assert list(ax.get_xticks()) == [10, 25, 50, 100]
        assert not len(ax.xaxis.get_minorticklocs())
    fig.canvas.draw()
    assert [t.get_text() for t in axes[3].get_xticklabels()] == ["10", "25", "50", "100"]
    for ax in top:
        for band in ax.collections:
            y = band.get_paths()[0].vertices[:, 1]
            assert y.min() >= 0.0 and y.max() <= 0.8 + 1e-12  # [0, worst run]
        assert ax.get_ylim()[0] == 0.0
    foot = " ".join(t.get_text() for t in fig.texts)
    assert "standard error" in foot and "90th percentile" in foot
    assert "90th percentile" in axes[3].get_ylabel()


def test_few_checkpoints_get_a_linear_axis_and_singular_titles() -> None:
    fig = regret_figure(_runs(TASKS[:1], seeds=1, marks=(10, 12)))
    (top, tail) = fig.axes
    assert top.get_title() == "hpolib (1 task, 1 seed)"
    assert top.get_xscale() == "linear" and list(top.get_xticks()) == [10, 12]
    assert (
        not top.collections[0].get_paths()
        or np.isfinite(top.collections[0].get_paths()[0].vertices).all()
    )


def test_old_runs_csv_rebuild(tmp_path) -> None:
    """A comparison folder written before the tail tables and the recommended config
    (runs/*.csv with the protocol's columns only) rebuilds into the new reports."""
    runs = _runs().drop(columns=["rec_true_value", "rec_regret"])
    (tmp_path / "runs").mkdir()
    for (p, t, s), df in runs.groupby(["policy", "task", "seed"]):
        df.to_csv(tmp_path / "runs" / f"{p}__{t.replace('/', '-')}__{s}.csv", index=False)
    rebuilt = rebuild_reports(tmp_path, order=["good", "bad"])
    assert len(rebuilt) == len(runs)
    summary = (tmp_path / "summary.md").read_text()
    assert "### 90th percentile" in summary and "| bad | 3 | 3 | 3 | 3 |" in summary
    assert "Recommended" not in summary
    assert (tmp_path / "regret.png").stat().st_size > 10_000
    write_reports(runs, tmp_path)  # the default (sorted) policy order
    resorted = (tmp_path / "summary.md").read_text()
    assert resorted.index("| bad |") < resorted.index("| good |")
