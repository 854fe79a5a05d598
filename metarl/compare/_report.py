"""What a comparison writes: runs.csv, summary.md (tables) and regret.png (curves)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from metarl.compare._protocol import family_of


def regret_table(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean normalised regret, one row per policy, one column per checkpoint."""
    t = runs.pivot_table(index="policy", columns="n_evals", values="norm_regret", aggfunc="mean")
    return t.reindex([p for p in (order or t.index) if p in t.index])


def mean_rank(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean rank of each policy over (task, seed) pairs, per checkpoint (1 = best; ties
    share the mean rank). Only pairs where every policy has a result count."""
    wide = runs.pivot_table(
        index=["task", "seed", "n_evals"], columns="policy", values="norm_regret"
    ).dropna()
    ranks = wide.rank(axis=1, method="average")
    t = ranks.groupby(level="n_evals").mean().T
    return t.reindex([p for p in (order or t.index) if p in t.index])


def _markdown(t: pd.DataFrame, digits: int) -> str:
    cols = [f"@{c}" for c in t.columns]
    lines = ["| policy | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, row in t.iterrows():
        cells = ["—" if np.isnan(v) else f"{v:.{digits}f}" for v in row.to_numpy(dtype=float)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(runs: pd.DataFrame, order: Sequence[str] | None = None) -> str:
    """The text of summary.md: regret overall and per family, and the mean rank."""
    runs = runs.assign(family=runs["task"].map(family_of))
    tasks = sorted(runs["task"].unique())
    n_seeds = runs.groupby(["policy", "task"])["seed"].nunique()
    parts = [
        "# Comparison summary",
        "",
        f"Tasks ({len(tasks)}): {', '.join(tasks)}. Seeds per (policy, task): "
        f"{n_seeds.min()}{'' if n_seeds.min() == n_seeds.max() else f' to {n_seeds.max()}'}. "
        "Normalised regret of the incumbent (best observed config) at each number of "
        "evaluations: 0 = the global optimum, 1 = a median config (PROTOCOL.md).",
        "",
        "## Mean normalised regret, all tasks",
        "",
        _markdown(regret_table(runs, order), 3),
    ]
    for fam, sub in runs.groupby("family"):
        parts += [
            "",
            f"## Mean normalised regret, {fam}",
            "",
            _markdown(regret_table(sub, order), 3),
        ]
    parts += [
        "",
        "## Mean rank over (task, seed) pairs (1 = best)",
        "",
        _markdown(mean_rank(runs, order), 2),
        "",
        "## Mean seconds per run (policy time; evaluations are table look-ups)",
        "",
        _markdown(
            runs.pivot_table(index="policy", columns="n_evals", values="seconds").reindex(
                [p for p in (order or sorted(runs["policy"].unique()))]
            ),
            1,
        ),
        "",
    ]
    return "\n".join(parts)


def plot_regret(runs: pd.DataFrame, path: str | Path, order: Sequence[str] | None = None) -> None:
    """Regret vs evaluations, mean and 95 % confidence band over (task, seed), one panel per
    family; saved as a PNG (matplotlib's Agg backend, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = runs.assign(family=runs["task"].map(family_of))
    fams = sorted(runs["family"].unique())
    fig, axes = plt.subplots(1, len(fams), figsize=(5.5 * len(fams), 4.2), squeeze=False)
    policies = list(order or sorted(runs["policy"].unique()))
    for ax, fam in zip(axes[0], fams):
        sub = runs[runs["family"] == fam]
        for pol in policies:
            g = sub[sub["policy"] == pol].groupby("n_evals")["norm_regret"]
            if not len(g):
                continue
            mean, sem = g.mean(), g.sem().fillna(0.0)
            x = mean.index.to_numpy()
            ax.plot(x, mean.to_numpy(), marker="o", label=pol)
            ax.fill_between(
                x, (mean - 1.96 * sem).to_numpy(), (mean + 1.96 * sem).to_numpy(), alpha=0.2
            )
        ax.set_title(f"{fam} ({sub['task'].nunique()} tasks)")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("normalised regret")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(
    runs: pd.DataFrame, out_dir: str | Path, order: Sequence[str] | None = None
) -> None:
    """Write ``runs.csv``, ``summary.md`` and ``regret.png`` into ``out_dir``."""
    out = Path(out_dir)
    runs.sort_values(["policy", "task", "seed", "n_evals"]).to_csv(out / "runs.csv", index=False)
    (out / "summary.md").write_text(summary_markdown(runs, order))
    plot_regret(runs, out / "regret.png", order)
