"""``metarl learner fit``: fit and cross-validate a meta-learner on past runs, then save it."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from metarl.cli._common import load_space
from metarl.cli._main import CliError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("learner", help="meta-learners on past runs")
    lsub = p.add_subparsers(dest="learner_command", metavar="ACTION", required=True)
    f = lsub.add_parser("fit", help="fit, cross-validate and save a meta-learner on a runs CSV")
    f.add_argument("--runs", required=True, help="CSV: one row per run, a column per param")
    f.add_argument("--space", required=True, help="space YAML")
    f.add_argument("--target", required=True, help="metric column to predict")
    f.add_argument("--out", required=True, help="file to save the learner to (.skops)")
    f.add_argument("--learner", default="auto", help="make_learner name (default auto)")
    f.add_argument("--direction", default="minimize", choices=["minimize", "maximize"])
    f.add_argument("--cv", type=int, default=5, help="cross-validation folds")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=fit)


def read_runs(path: str, space: Any, target: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Configs and target values of a runs CSV (empty cells: inactive parameters)."""
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise CliError(f"{path}: cannot read CSV: {str(e).splitlines()[0]}") from None
    if target not in df.columns:
        raise CliError(f"{path}: no column {target!r} (columns: {list(df.columns)})")
    missing = [n for n in space.names if n not in df.columns]
    if missing:
        raise CliError(f"{path}: no column for parameter(s) {missing}")
    cols = space.names + [c for c in space.context if c in df.columns]
    records = df[cols].to_dict("records")
    configs = [
        {k: v for k, v in r.items() if not (isinstance(v, float) and np.isnan(v))} for r in records
    ]
    for cfg in configs:  # CSV gives floats for ints and "True" strings for booleans
        for name, v in cfg.items():
            p = space.params.get(name) or space.context.get(name)
            if type(p).__name__ == "Integer":
                cfg[name] = int(v)
            elif type(p).__name__ == "Boolean" and isinstance(v, str):
                cfg[name] = v.strip().lower() in ("true", "1")
            elif type(p).__name__ == "Subset" and isinstance(v, str):
                cfg[name] = tuple(x for x in v.split("|") if x)
    y = df[target].to_numpy(dtype=np.float64)
    keep = np.isfinite(y)
    return [c for c, k in zip(configs, keep) if k], y[keep]


def fit(args: argparse.Namespace) -> int:
    from metarl.learners import evaluate, make_learner

    try:
        from metarl.learners import save_learner
    except ImportError:
        raise CliError("this metarl has no metarl.learners.save_learner") from None
    space = load_space(args.space)
    configs, y = read_runs(args.runs, space, args.target)
    X = space.encode(configs)
    learner = make_learner(args.learner)
    q = evaluate(learner, X, y, cv=args.cv, seed=args.seed, direction=args.direction)
    print(f"{args.learner} on {len(y)} runs, {args.cv}-fold cross-validation of {args.target}:")
    for k in ("spearman", "kendall", "top10_recall"):
        print(f"  {k}: {q[k]:.4f}")
    learner.fit(X, y, target_names=[args.target])
    save_learner(learner, args.out, space=space)
    print(f"saved: {args.out}")
    return 0
