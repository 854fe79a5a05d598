"""Does the learner know when the observed incumbent is a lucky draw? (issue 13, replicates)

Runs the ``default`` contender of ``metarl compare`` (the rounds of ``run_rounds``, i.e.
``metarl.loop.refine``) and, at every round with a fitted learner, scores the observed
incumbent (best mean over its evaluations) with candidate "it was lucky" statistics, computed
from what the round knows (history and fitted learner), then labels the round with the truth:
*harmful* when the incumbent's true normalised regret exceeds that of the best evaluated config
by more than ``--harm`` (a replicate could only help there). Prints each statistic's AUC for
telling harmful rounds from the others (0.5 = no better than chance), overall and per group.

Statistics (``gap`` = observed mean minus the learner's posterior mean at the incumbent,
toward the good side; ``margin`` = the incumbent's observed lead over the runner-up config):

- ``luck_sd``: gap / the learner's predictive std there (``Replicates``' rule, ``z``);
- ``gap_spread``: gap / the std of every observed value;
- ``gap_margin``: gap / margin (the learner's correction against the lead it must keep);
- ``margin_spread``: margin / the std of every observed value (low: a close race);
- ``noise``: the GP's fitted noise std (standardised target).

Usage::

    python benchmarks/bench_replicate_rule.py --tasks 'hpolib/*,hpolib/*:noise3' --seeds 3
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from metarl.benchmarks import load_task
from metarl.compare import parse_policy
from metarl.compare._protocol import run_rounds
from metarl.compare._runner import resolve_tasks
from metarl.loop import config_groups, observed_incumbent, seed_streams

STATS = ["luck_sd", "gap_spread", "gap_margin", "margin_spread", "noise"]


def round_stats(task, M: np.ndarray, y: np.ndarray, learner) -> dict[str, float]:
    """The statistics of one round's incumbent and its harm (see the module docstring)."""
    space, sign = task.space, 1.0 if task.direction == "maximize" else -1.0
    row, mean, _ = observed_incumbent(space, M, y, task.direction)
    group, first = config_groups(space, M)
    means = np.bincount(group, weights=y) / np.bincount(group)
    mu, sd = learner.predict(space.encode_matrix(M[first]), return_std=True)
    g = int(group[row])
    regret = np.asarray(task.normalized_regret(task.true_value(M[first])), dtype=np.float64)
    gap = sign * (mean - mu[g])
    margin = sign * (mean - sign * np.sort(sign * means)[-2]) if len(first) > 1 else np.inf
    spread = float(np.std(y)) or 1.0
    noise = getattr(learner, "models_", [{}])[0].get("noise", np.nan)
    return {
        "harm": float(regret[g] - regret.min()),
        "luck_sd": gap / sd[g] if sd[g] > 0 else np.inf,
        "gap_spread": gap / spread,
        "gap_margin": gap / max(margin, 1e-12),
        "margin_spread": margin / spread,
        "noise": float(np.sqrt(noise)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="hpolib/*,hpolib/*:noise3")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--harm", type=float, default=0.1)
    args = ap.parse_args()
    spec = parse_policy("default")
    rows = []
    for name in resolve_tasks(args.tasks):
        for seed in range(args.seeds):
            task = load_task(name, seed_streams(seed)["noise"])
            M, y = np.empty((0, task.space.n_columns)), np.empty(0)
            for step, y_new in run_rounds(spec, task, seed, budget=args.budget):
                if step.learner is not None and len(y) >= 2:
                    rows.append({"task": name, "seed": seed, "n": len(y),
                                 **round_stats(task, M, y, step.learner)})  # fmt: skip
                M, y = np.concatenate([M, step.M]), np.concatenate([y, y_new])
    df = pd.DataFrame(rows)
    df["harmful"] = df["harm"] > args.harm
    df["group"] = np.where(df["task"].str.contains(":"), "noisy", "clean")
    out = []
    for scope, d in [("all", df), *df.groupby("group")]:
        pos, neg = d[d["harmful"]], d[~d["harmful"]]
        line = {"scope": scope, "harmful rounds": len(pos), "other rounds": len(neg)}
        for s in STATS:
            a, b = pos[s].dropna(), neg[s].dropna()
            ok = len(a) and len(b)
            line[s] = mannwhitneyu(a, b).statistic / (len(a) * len(b)) if ok else np.nan
        out.append(line)
    print(f"AUC of each statistic for harmful incumbents (regret above the best evaluated "
          f"config's by > {args.harm}); rounds of the default, {args.seeds} seeds, budget "
          f"{args.budget}")  # fmt: skip
    print(pd.DataFrame(out).set_index("scope").round(3).to_string())


if __name__ == "__main__":
    main()
