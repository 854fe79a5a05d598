"""Compare search policies on the tabular benchmarks under PROTOCOL.md.

Runs each policy on each task and seed, and writes OUT/runs.csv, OUT/summary.md and
OUT/regret.png; finished runs in OUT are skipped, so an interrupted comparison resumes.

    python experiments/compare_policies.py --config experiments/configs/compare_smoke.yaml
    python experiments/compare_policies.py --tasks 'hpolib/*' --policies random,tpe --seeds 5
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from _config import parse_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's plug-ins


@dataclass
class Args:
    tasks: str = "hpolib/*,nasbench201/*"
    """task names or glob patterns, comma-separated"""
    policies: str = "default,ppo,random,evolution,tpe,gp"
    """policy specs, comma-separated: name, name(k=v,...) or label=name(k=v,...)"""
    seeds: int = 5
    """runs per (policy, task), seeded 0..N-1"""
    budget: int = 100
    """evaluations per run"""
    n_init: int = 10
    """random initial configs of each run"""
    batch_size: int = 1
    """configs proposed per round"""
    transfer: bool = False
    """warm-start model-based policies with 200 evaluations of each other dataset of the
    family"""
    n_jobs: int = 2
    """worker processes"""
    plugins: str = "envs"
    """modules to import first, comma-separated (they register environments and policies)"""
    out: str = "runs/compare"
    """output folder: runs.csv, summary.md, regret.png (finished runs are skipped)"""


if __name__ == "__main__":
    args = parse_config(Args, __doc__)

    # 1. every (policy, task, seed) under the protocol, in parallel, resumable
    from metarl.compare import regret_table, run_comparison

    runs = run_comparison(
        args.tasks,
        args.policies,
        args.seeds,
        args.budget,
        out_dir=args.out,
        n_init=args.n_init,
        batch_size=args.batch_size,
        transfer=args.transfer,
        n_jobs=args.n_jobs,
        plugins=[m for m in args.plugins.split(",") if m],
    )

    # 2. the headline: mean normalised regret per policy and budget (summary.md has more)
    print(regret_table(runs).round(3).to_string())
    print(f"wrote {args.out}/runs.csv, {args.out}/summary.md, {args.out}/regret.png")
