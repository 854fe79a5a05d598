"""Compare samplers over the runs of several ``bench_real_training.py`` folders.

Baselines and variants are often run into different ``--out`` folders (Optuna's samplers
once, each MetaRLSampler variant on its own). This reads ``runs.csv`` of every folder given,
keeps for each (task, seed, sampler) the first run found (in the order of the folders),
and prints what ``bench_real_training.py --report`` prints for the samplers named (mean and
worst best value per task, mean rank over the (task, seed) pairs where every sampler ran),
plus, for each sampler against ``--against``, the paired comparison at each budget (pairs
above / below, mean difference, Wilcoxon signed-rank p) and its worst seeds.

    python benchmarks/compare_real_runs.py runs/rt_final runs/rt_merged runs/rt_bc \\
        runs/rt_columns --samplers metarl,tpe,gp,random --budgets 25,50
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real_training import best_at, print_summary, read_runs, summarise  # noqa: E402


def merged_runs(folders: list[Path]) -> list[dict]:
    """The runs of every folder's ``runs.csv``, the first of each (task, seed, sampler)."""
    seen: dict[tuple, dict] = {}
    for folder in folders:
        if not (folder / "runs.csv").exists():
            raise SystemExit(f"error: no runs.csv in {folder}")
        for r in read_runs(folder):
            seen.setdefault((r["task"], r["seed"], r["sampler"]), r)
    return list(seen.values())


def paired(runs: list[dict], sampler: str, against: str, n: int, tasks: list[str]) -> dict:
    """``sampler`` against ``against`` after ``n`` trials over their common (task, seed)."""
    from scipy.stats import wilcoxon

    by = {(r["task"], r["seed"], r["sampler"]): r for r in runs}
    pairs = sorted(
        (t, s) for t, s, p in by if p == sampler and t in tasks and (t, s, against) in by
    )
    d = np.array([best_at(by[t, s, sampler], n) - best_at(by[t, s, against], n) for t, s in pairs])
    nz = d[d != 0]
    p = float(wilcoxon(nz).pvalue) if len(nz) > 1 else float("nan")
    return {
        "pairs": len(d),
        "above": int((d > 0).sum()),
        "below": int((d < 0).sum()),
        "mean": float(d.mean()) if len(d) else float("nan"),
        "p": p,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path, help="bench_real_training --out folders")
    ap.add_argument("--samplers", default="metarl,tpe,gp,random")
    ap.add_argument("--tasks", default="", help="default: every task with runs")
    ap.add_argument("--budgets", default="10,25,50")
    ap.add_argument("--against", default="tpe", help="the reference of the paired tests")
    args = ap.parse_args(argv)
    samplers = [s for s in args.samplers.split(",") if s]
    budgets = [int(b) for b in args.budgets.split(",")]
    runs = merged_runs(args.folders)
    tasks = [t for t in args.tasks.split(",") if t] or sorted({r["task"] for r in runs})
    runs = [r for r in runs if r["task"] in tasks and r["sampler"] in samplers]
    missing = [s for s in samplers if not any(r["sampler"] == s for r in runs)]
    if missing:
        raise SystemExit(f"error: no runs of {missing} in {', '.join(map(str, args.folders))}")
    summary = summarise(runs, samplers, budgets)
    print_summary(summary, samplers)
    print(f"\npaired against {args.against}: above / below of pairs, mean difference, Wilcoxon p")
    summary["paired"] = {}
    for s in samplers:
        if s == args.against:
            continue
        for n in budgets:
            r = paired(runs, s, args.against, n, tasks)
            summary["paired"][f"{s}@{n}"] = r
            print(
                f"  {s:<20} @{n:<3} {r['above']:>2} / {r['below']:<2} of {r['pairs']}"
                f"  mean {r['mean']:+.4f}  p = {r['p']:.3f}"
            )
    print("\nworst seeds @last budget (task: value seed, ...)")
    n = budgets[-1]
    for s in samplers:
        worst = []
        for t in tasks:
            vals = [
                (best_at(r, n), r["seed"]) for r in runs if r["task"] == t and r["sampler"] == s
            ]
            if vals:
                v, seed = min(vals)
                worst.append(f"{t} {v:.4f} (seed {seed})")
        print(f"  {s:<20} " + ", ".join(worst))
    return summary


if __name__ == "__main__":
    main()
