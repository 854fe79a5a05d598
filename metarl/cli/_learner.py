"""``metarl learner fit``: fit and cross-validate a meta-learner on past runs, then save it."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from metarl.cli._common import load_space

#: Quality figures printed, in order.
SCORES = ("spearman", "kendall", "top10_recall", "rmse", "r2")


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("learner", help="meta-learners on past runs")
    lsub = p.add_subparsers(dest="learner_command", metavar="ACTION", required=True)
    f = lsub.add_parser(
        "fit",
        help="fit, cross-validate and save a meta-learner on past runs",
        description="Fit a meta-learner on past runs (a CSV: one row per run, a column per "
        "parameter, empty cells for inactive ones), print its cross-validated quality and "
        "save it for `metarl propose`.",
    )
    f.add_argument("--runs", required=True, help="CSV of past runs")
    f.add_argument("--space", required=True, help="space YAML")
    f.add_argument(
        "--target", required=True, type=_names, help="metric column(s) to predict, comma-separated"
    )
    f.add_argument("--out", required=True, help="file to save the learner to (e.g. learner.mrl)")
    f.add_argument("--learner", default="auto", help="make_learner name (default auto)")
    f.add_argument(
        "--direction",
        type=_names,
        default=None,
        help="minimize or maximize, one for all targets or comma-separated (default minimize)",
    )
    f.add_argument(
        "--ignore", type=_names, default=[], help="other columns to skip, comma-separated"
    )
    f.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=fit)


def fit(args: argparse.Namespace) -> int:
    from metarl.learners import save_learner
    from metarl.metadata import fit_learner, load_runs

    space = load_space(args.space)
    direction = None
    if args.direction:
        direction = args.direction[0] if len(args.direction) == 1 else args.direction
    data = load_runs(args.runs, space, args.target, direction=direction, ignore=args.ignore)
    learner, quality = fit_learner(data, space, args.target, args.learner, args.cv, args.seed)
    print(
        f"{args.learner} learner on {len(data)} runs of {args.runs}, "
        f"{args.cv}-fold cross-validation:"
    )
    width = max(len(t) for t in data.target_names)
    print(f"  {'target':<{width}}  " + "  ".join(f"{k:>12}" for k in SCORES))
    for j, (t, d) in enumerate(zip(data.target_names, data.directions)):
        row = [np.atleast_1d(quality[k])[j] for k in SCORES]
        print(f"  {t:<{width}}  " + "  ".join(f"{v:>12.4f}" for v in row) + f"  ({d})")
    save_learner(learner, args.out, space=space, directions=data.directions)
    print(f"saved: {args.out}")
    return 0
