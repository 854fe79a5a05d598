"""What a comparison writes: runs.csv, summary.md (tables) and regret.png (curves).

Every statistic is over the (task, seed) runs of a policy at one checkpoint: the mean
normalised regret (PROTOCOL.md), its tail (90th percentile, and the number of runs above
:data:`BAD_REGRET`: a user judges a tuner by its bad days) and the mean rank. Tables come
for all tasks and per group of tasks: a family, or a family's noisy variant
(``hpolib:noise3``), so that clean and noisy figures are never pooled silently.

Each statistic comes twice: for the incumbent by observed value (``norm_regret``, the
protocol's), and for the recommended config, the evaluated one with the best posterior mean
(``rec_regret``, :func:`metarl.loop.recommend`): under noise the two differ, and a user
deploys one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The tail quantile reported next to the mean.
TAIL_QUANTILE = 0.9

#: A run whose incumbent has a normalised regret above this is counted as a bad run
#: (further from the optimum than halfway to a median config).
BAD_REGRET = 0.5


def task_group(task_name: str) -> str:
    """The report group of a task: its family, with its variant suffix if any
    (``"hpolib/protein_structure:noise3"`` -> ``"hpolib:noise3"``)."""
    base, sep, variant = task_name.partition(":")
    return base.split("/", 1)[0] + sep + variant


def recommended_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs with the recommended config's regret as ``norm_regret`` (rows without one,
    stored before it was recorded, dropped): every table of this module then describes the
    recommended config, e.g. ``headline_table(recommended_runs(runs))``."""
    if "rec_regret" not in runs:
        return runs.iloc[0:0]
    return runs.dropna(subset=["rec_regret"]).assign(norm_regret=lambda d: d["rec_regret"])


def _per_checkpoint(
    runs: pd.DataFrame, stat: str | Callable[[pd.Series], float], order: Sequence[str] | None
) -> pd.DataFrame:
    """One row per policy (in ``order``), one column per checkpoint, of a statistic of the
    runs' normalised regret."""
    t = runs.pivot_table(index="policy", columns="n_evals", values="norm_regret", aggfunc=stat)
    t.columns.name = "n_evals"
    return t.reindex([p for p in (order or t.index) if p in t.index])


def regret_table(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean normalised regret, one row per policy, one column per checkpoint."""
    return _per_checkpoint(runs, "mean", order)


def quantile_table(
    runs: pd.DataFrame, q: float = TAIL_QUANTILE, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """The ``q``-quantile of the normalised regret over (task, seed) runs (numpy's linear
    interpolation), one row per policy, one column per checkpoint."""
    return _per_checkpoint(runs, lambda s: float(np.quantile(s, q)), order)


def count_above(
    runs: pd.DataFrame, threshold: float = BAD_REGRET, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Number of (task, seed) runs with normalised regret above ``threshold``, one row per
    policy, one column per checkpoint."""
    return _per_checkpoint(runs, lambda s: int((s > threshold).sum()), order).astype(int)


def run_count(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Number of (task, seed) runs behind each cell of the tables."""
    return _per_checkpoint(runs, "count", order).astype(int)


def headline_table(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean, 90th percentile and runs above 0.5, side by side (columns: statistic, then
    checkpoint), for a console: ``print(headline_table(runs).round(3).to_string())``."""
    return pd.concat(
        {
            "mean": regret_table(runs, order),
            "p90": quantile_table(runs, TAIL_QUANTILE, order),
            f">{BAD_REGRET}": count_above(runs, BAD_REGRET, order),
        },
        axis=1,
        names=["", "n_evals"],
    )


def mean_rank(runs: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean rank of each policy over (task, seed) pairs, per checkpoint (1 = best; ties
    share the mean rank). Only pairs where every policy has a result count."""
    wide = runs.pivot_table(
        index=["task", "seed", "n_evals"], columns="policy", values="norm_regret"
    ).dropna()
    ranks = wide.rank(axis=1, method="average")
    t = ranks.groupby(level="n_evals").mean().T
    return t.reindex([p for p in (order or t.index) if p in t.index])


def _cell(v: object, digits: int) -> str:
    if isinstance(v, str):
        return v
    if pd.isna(v):
        return "—"
    if isinstance(v, (int, np.integer)):
        return str(v)
    return f"{v:.{digits}f}"


def _markdown(t: pd.DataFrame, digits: int, first: str = "policy") -> str:
    """A markdown table: index as the first column, checkpoints headed ``@n``."""
    cols = [f"@{c}" if isinstance(c, (int, np.integer)) else str(c) for c in t.columns]
    lines = [f"| {first} | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, row in t.iterrows():
        lines.append(f"| {name} | " + " | ".join(_cell(v, digits) for v in row) + " |")
    return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _scope_tables(runs: pd.DataFrame, order: Sequence[str] | None, level: str) -> list[str]:
    """The four tables of one scope (all tasks, or one group): mean, tail, bad runs, rank."""
    n = run_count(runs, order)
    bad = count_above(runs, BAD_REGRET, order)
    uniform = n.to_numpy().min() == n.to_numpy().max()
    bad_cells = bad if uniform else bad.astype(str) + "/" + n.astype(str)
    of = f" (of {n.to_numpy().max()})" if uniform else " (bad/all)"
    return [
        f"{level} Mean normalised regret",
        "",
        _markdown(regret_table(runs, order), 3),
        "",
        f"{level} 90th percentile of the regret over runs",
        "",
        _markdown(quantile_table(runs, TAIL_QUANTILE, order), 3),
        "",
        f"{level} Runs with regret above {BAD_REGRET}{of}",
        "",
        _markdown(bad_cells, 0),
        "",
        f"{level} Mean rank over (task, seed) pairs (1 = best)",
        "",
        _markdown(mean_rank(runs, order), 2),
        "",
    ]


def _scope_heading(runs: pd.DataFrame) -> str:
    n_tasks, n_seeds = runs["task"].nunique(), runs["seed"].nunique()
    return f"{_plural(n_tasks, 'task')} x {_plural(n_seeds, 'seed')}"


def _scopes(runs: pd.DataFrame, order: Sequence[str], what: str) -> list[str]:
    """The tables over all tasks, then per group when there are several; ``what`` names
    the incumbent in the headings."""
    parts = [f"## {what}: all tasks ({_scope_heading(runs)})", ""]
    parts += _scope_tables(runs, order, "###")
    groups = sorted(runs["group"].unique())
    if len(groups) > 1:
        for group in groups:
            sub = runs[runs["group"] == group]
            parts += [f"## {what}: {group} ({_scope_heading(sub)})", ""]
            parts += _scope_tables(sub, order, "###")
    return parts


def summary_markdown(runs: pd.DataFrame, order: Sequence[str] | None = None) -> str:
    """The text of summary.md: for all tasks and per group of tasks, the mean regret, its
    90th percentile, the runs above 0.5 and the mean rank, of the observed-best incumbent
    and then of the recommended config; then per task, the worst runs and the policy time."""
    runs = runs.assign(group=runs["task"].map(task_group))
    order = list(order) if order is not None else sorted(runs["policy"].unique())
    tasks = sorted(runs["task"].unique())
    n_seeds = runs.groupby(["policy", "task"])["seed"].nunique()
    last = int(runs["n_evals"].max())
    rec = recommended_runs(runs)
    parts = [
        "# Comparison summary",
        "",
        f"Tasks ({len(tasks)}): {', '.join(tasks)}. Seeds per (policy, task): "
        f"{n_seeds.min()}{'' if n_seeds.min() == n_seeds.max() else f' to {n_seeds.max()}'}. "
        "Normalised regret of the incumbent at each number of evaluations (@n): 0 = the "
        "global optimum, 1 = a median config (PROTOCOL.md), on the config's true (seed-mean) "
        "value. Two incumbents: the best observed config (the protocol's), and the "
        "recommended one, the evaluated config with the best posterior mean of the "
        "policy's learner (the default's GP for model-free policies) fitted on the run's "
        "history. Statistics over the (task, seed) runs of each policy: the mean, the 90th "
        "percentile (one run in ten is worse), the number of runs above "
        f"{BAD_REGRET} (bad runs) and the mean rank among the policies.",
        "",
        *_scopes(runs, order, "Best observed"),
    ]
    if len(rec):
        parts += _scopes(rec, order, "Recommended (best posterior mean)")
    at_last = runs[runs["n_evals"] == last]
    per_task = at_last.pivot_table(index="policy", columns="task", values="norm_regret")
    worst = at_last.nlargest(min(10, len(at_last)), "norm_regret")
    parts += [
        f"## Per task: mean normalised regret @{last} (best observed)",
        "",
        _markdown(per_task.reindex([p for p in order if p in per_task.index]), 3),
        "",
        f"## Worst runs @{last} (best observed)",
        "",
        _markdown(
            worst.set_index("policy")[["task", "seed", "norm_regret"]].rename(
                columns={"norm_regret": "regret"}
            ),
            3,
        ),
        "",
        "## Mean seconds per run (policy time; evaluations are table look-ups)",
        "",
        _markdown(
            runs.pivot_table(index="policy", columns="n_evals", values="seconds").reindex(
                [p for p in order if p in set(runs["policy"])]
            ),
            1,
        ),
        "",
    ]
    if "n_replicates" in runs and runs["n_replicates"].fillna(0).gt(0).any():
        reps = runs.pivot_table(index="policy", columns="n_evals", values="n_replicates")
        parts += [
            "## Mean replicates per run (evaluations spent re-evaluating an incumbent)",
            "",
            _markdown(reps.reindex([p for p in order if p in reps.index]), 2),
            "",
        ]
    return "\n".join(parts)


def _x_axis(ax: object, marks: Sequence[int]) -> None:
    """Plain integer ticks at the checkpoints; a log axis when they span a factor of 4 or
    more (10..100: even spacing of 10, 25, 50, 100), else a linear one (10, 12)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    lo, hi = min(marks), max(marks)
    if hi >= 4 * lo:
        ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(list(marks)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(m) for m in marks])
    pad = (hi / lo) ** 0.05 if hi >= 4 * lo else None
    if pad is not None:
        ax.set_xlim(lo / pad, hi * pad)
    elif hi > lo:
        ax.set_xlim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))


def plot_regret(runs: pd.DataFrame, path: str | Path, order: Sequence[str] | None = None) -> None:
    """Save :func:`regret_figure` as a PNG (no display needed: the figure is not pyplot's)."""
    regret_figure(runs, order).savefig(path, dpi=110)


def regret_figure(runs: pd.DataFrame, order: Sequence[str] | None = None) -> Figure:
    """Regret vs evaluations: one column per group of tasks (and one for all of them when
    there are several), the mean with its standard error on top, the 90th percentile
    below. A footnote on the figure says what the lines and bands are."""
    from matplotlib.figure import Figure

    runs = runs.assign(group=runs["task"].map(task_group))
    groups = sorted(runs["group"].unique())
    scopes = [(g, runs[runs["group"] == g]) for g in groups]
    if len(groups) > 1:
        scopes.append(("all tasks", runs))
    policies = [p for p in (order or sorted(runs["policy"].unique())) if p in set(runs["policy"])]
    colors = {p: f"C{i % 10}" for i, p in enumerate(policies)}
    markers = "osD^v<>ph*"
    marks = sorted(int(n) for n in runs["n_evals"].unique())
    fig = Figure(figsize=(4.6 * len(scopes) + 0.6, 7.4))
    axes = fig.subplots(2, len(scopes), squeeze=False, sharex=True)
    for col, (name, sub) in enumerate(scopes):
        top, tail = axes[0, col], axes[1, col]
        for i, pol in enumerate(policies):
            reg = sub[sub["policy"] == pol].groupby("n_evals")["norm_regret"]
            if not len(reg):
                continue
            x = np.asarray(reg.mean().index, dtype=float)
            mean, sem = reg.mean().to_numpy(), reg.sem().to_numpy()
            style = dict(color=colors[pol], marker=markers[i % len(markers)], ms=4, label=pol)
            top.plot(x, mean, **style)
            # the band: +-1 standard error of the mean over runs, inside [0, worst run]
            worst = reg.max().to_numpy()
            top.fill_between(
                x,
                np.clip(mean - sem, 0.0, worst),
                np.clip(mean + sem, 0.0, worst),
                color=colors[pol],
                alpha=0.18,
                lw=0,
            )
            q = reg.quantile(TAIL_QUANTILE).to_numpy()
            tail.plot(x, q, **style)
            rec = recommended_runs(sub[sub["policy"] == pol]).groupby("n_evals")["norm_regret"]
            if len(rec):
                dashed = dict(color=colors[pol], ls="--", lw=1, label=f"{pol}, recommended")
                xr = np.asarray(rec.mean().index, dtype=float)
                top.plot(xr, rec.mean().to_numpy(), **dashed)
                tail.plot(xr, rec.quantile(TAIL_QUANTILE).to_numpy(), **dashed)
        n_tasks, n_seeds = sub["task"].nunique(), sub["seed"].nunique()
        top.set_title(f"{name} ({_plural(n_tasks, 'task')}, {_plural(n_seeds, 'seed')})")
        top.set_ylabel("mean normalised regret")
        tail.set_ylabel(f"{TAIL_QUANTILE:.0%} percentile of regret".replace("%", "th"))
        tail.axhline(BAD_REGRET, color="0.4", ls=":", lw=1)
        tail.set_xlabel("evaluations")
        for ax in (top, tail):
            _x_axis(ax, marks)
            ax.set_ylim(bottom=0.0)
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    n_runs = runs.groupby("policy")[["task", "seed"]].apply(lambda d: len(d.drop_duplicates()))
    span = f"{n_runs.min()}" + ("" if n_runs.min() == n_runs.max() else f"-{n_runs.max()}")
    _footnote(
        fig,
        [
            "Normalised regret of the incumbent (solid: best observed config; dashed: the "
            "evaluated config with the best posterior mean): 0 = global optimum, 1 = median "
            "config.",
            f"Top: mean over each policy's (task, seed) runs ({span} per policy overall); "
            "band = ±1 standard error of that mean, clipped to [0, worst run].",
            f"Bottom: 90th percentile over the same runs (one run in ten is worse); dotted "
            f"line: {BAD_REGRET}, above which a run counts as bad.",
        ],
    )
    return fig


def _footnote(fig: Figure, paragraphs: list[str], fontsize: float = 8.0) -> None:
    """Write ``paragraphs`` under the axes, wrapped to the figure's width, and make room."""
    import textwrap

    width_in, height_in = fig.get_size_inches()
    chars = max(40, int(width_in * 72 / (0.5 * fontsize)))  # ~0.5 em per character
    lines = [line for p in paragraphs for line in textwrap.wrap(p, chars)]
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=fontsize, va="bottom")
    room = (len(lines) * 1.3 * fontsize / 72 + 0.1) / height_in
    fig.tight_layout(rect=(0, room, 1, 1))


def write_reports(
    runs: pd.DataFrame, out_dir: str | Path, order: Sequence[str] | None = None
) -> None:
    """Write ``runs.csv``, ``summary.md`` and ``regret.png`` into ``out_dir``."""
    out = Path(out_dir)
    runs.sort_values(["policy", "task", "seed", "n_evals"]).to_csv(out / "runs.csv", index=False)
    (out / "summary.md").write_text(summary_markdown(runs, order))
    plot_regret(runs, out / "regret.png", order)
