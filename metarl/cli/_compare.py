"""``metarl compare``: compare search policies on tabular benchmarks under the protocol of
PROTOCOL.md (the command-line face of :func:`metarl.compare.run_comparison`)."""

from __future__ import annotations

import argparse
from typing import Any

from metarl.cli._common import add_import_arg


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="compare search policies on tabular benchmarks (PROTOCOL.md)",
        description=(
            "Run each policy on each task and seed under the comparison protocol; write "
            "runs.csv, summary.md and regret.png to --out. Finished runs in --out are skipped."
        ),
    )
    p.add_argument(
        "--tasks",
        default="hpolib/*,nasbench201/*",
        help="task names or glob patterns, comma-separated (default: %(default)s)",
    )
    p.add_argument(
        "--policies",
        default="default,ppo,random,evolution,tpe,gp",
        help="policy specs, comma-separated: name, name(k=v,...) or "
        "label=name(k=v,...) (default: %(default)s)",
    )
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default: %(default)s)")
    p.add_argument(
        "--budget", type=int, default=200, help="evaluations per run (default: %(default)s)"
    )
    p.add_argument("--out", required=True, help="output folder (resumable)")
    p.add_argument(
        "--n-init", type=int, default=10, help="random initial configs (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size", type=int, default=1, help="configs per round (default: %(default)s)"
    )
    p.add_argument(
        "--transfer",
        action="store_true",
        help="warm-start model-based policies with 200 evaluations of each other "
        "dataset of the family",
    )
    p.add_argument("--n-jobs", type=int, default=1, help="worker processes (default: %(default)s)")
    add_import_arg(p, " (and in each worker process)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=compare)


def compare(args: argparse.Namespace) -> int:
    """Run the comparison; print the regret table and where the results are."""
    from metarl.compare import headline_table, run_comparison

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
        plugins=args.plugins,
        progress=not args.no_progress,
    )
    print(headline_table(runs, list(dict.fromkeys(runs["policy"]))).round(3).to_string())
    print(f"wrote {args.out}/runs.csv, {args.out}/summary.md, {args.out}/regret.png")
    return 0
