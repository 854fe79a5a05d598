"""``metarl learner fit``: fit and cross-validate a meta-learner on past runs, then save it."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from metarl.cli._common import CliError, add_fit_args, comma_list, directions_for, load_space

#: Quality figures printed, in order.
SCORES = ("spearman", "kendall", "top10_recall", "rmse", "r2")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("learner", help="meta-learners on past runs")
    lsub = p.add_subparsers(dest="learner_command", metavar="ACTION", required=True)
    f = lsub.add_parser(
        "fit",
        help="fit, cross-validate and save a meta-learner on past runs",
        description="Fit a meta-learner on past runs (a CSV: one row per run, a column per "
        "parameter, empty cells for inactive ones; a Subset as 'a|b' or as 0/1 columns "
        "'name[item]'), print its cross-validated quality next to predicting the mean, and "
        "save it for `metarl propose`.",
    )
    f.add_argument("--runs", required=True, help="CSV of past runs")
    f.add_argument("--space", required=True, help="space YAML")
    f.add_argument(
        "--target",
        required=True,
        type=comma_list,
        help="metric column(s) to predict, comma-separated",
    )
    f.add_argument("--out", required=True, help="file to save the learner to (e.g. learner.mrl)")
    f.add_argument("--learner", default="auto", help="make_learner name (default: auto)")
    f.add_argument(
        "--direction",
        type=comma_list,
        default=None,
        help="minimize or maximize, one for all targets or comma-separated (default: read "
        "from each target's name, e.g. acc, auc, f1, r2, score: maximize; loss, error, mse, "
        "mae, time: minimize; required for other names)",
    )
    add_fit_args(f)
    f.add_argument("--seed", type=int, default=0, help="seed of the folds and the learner")
    f.set_defaults(func=fit)


def mean_baseline(y: np.ndarray, cv: int, seed: int, directions: list[str]) -> list[dict]:
    """The quality of predicting each held-out fold by its training folds' mean (the folds
    of :func:`metarl.learners.cross_val_predict` with the same ``cv`` and ``seed``).

    A constant cannot rank configs: spearman and kendall are 0 and top10_recall is chance
    (k / n), rather than the noise that per-fold means would score.
    """
    from sklearn.model_selection import KFold

    from metarl.learners import score_predictions

    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    oof = np.empty_like(Y)
    for tr, te in KFold(cv, shuffle=True, random_state=seed).split(Y):
        oof[te] = Y[tr].mean(axis=0)
    chance = max(1, int(round(0.1 * len(Y)))) / len(Y)
    out = []
    for j, d in enumerate(directions):
        s = score_predictions(Y[:, j], oof[:, j], direction=d)
        out.append(
            {
                "spearman": 0.0,
                "kendall": 0.0,
                "top10_recall": chance,
                "rmse": s["rmse"],
                "r2": s["r2"],
            }
        )
    return out


def fit(args: argparse.Namespace) -> int:
    from metarl.learners import save_learner
    from metarl.metadata import fit_learner, load_runs

    space = load_space(args.space)
    try:
        dirs = directions_for(args.target, args.direction, "--direction")
    except CliError:
        load_runs(
            args.runs, space, args.target, ignore=args.ignore
        )  # a missing file or column first
        raise
    data = load_runs(
        args.runs, space, args.target, direction=[d for d, _ in dirs], ignore=args.ignore
    )
    # a status line on an interactive terminal (as progress bars are): "auto" can take
    # minutes; in scripts and logs stderr keeps the one-line error contract
    status = sys.stderr.isatty()
    if status:
        note = " (it cross-validates its candidates in every fit)" if args.learner == "auto" else ""
        print(
            f"fitting {args.learner}{note}: {args.cv}-fold cross-validation on {len(data)} "
            "runs, then a fit on all of them ...",
            file=sys.stderr,
            flush=True,
        )
    t0 = time.perf_counter()
    learner, quality = fit_learner(data, space, args.target, args.learner, args.cv, args.seed)
    if status:
        print(f"fitted in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    base = mean_baseline(data.y, args.cv, args.seed, data.directions)
    what = f"{args.learner} learner on {len(data)} runs of {args.runs}"
    print(f"{what}, {args.cv}-fold cross-validation:")
    label = "  predict the mean"
    width = max(len(label) - 2, *(len(t) for t in data.target_names))
    print(f"  {'target':<{width}}  " + "  ".join(f"{k:>12}" for k in SCORES) + "  direction")
    for j, (t, (d, why)) in enumerate(zip(data.target_names, dirs)):
        row = [np.atleast_1d(quality[k])[j] for k in SCORES]
        print(f"  {t:<{width}}  " + "  ".join(f"{v:>12.4f}" for v in row) + f"  {d} ({why})")
        print(f"  {label[2:]:<{width}}  " + "  ".join(f"{base[j][k]:>12.4f}" for k in SCORES))
    print(
        "'predict the mean': each held-out run predicted by the mean of the other folds; it "
        "cannot rank configs (spearman 0, top10_recall at chance). A useful learner ranks "
        "better and has a lower rmse."
    )
    save_learner(learner, args.out, space=space, directions=data.directions)
    print(f"saved: {args.out}")
    return 0
