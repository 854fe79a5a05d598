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
- ``noise``: the GP's fitted noise std (standardised target);
- ``loo``: the GP's closed-form leave-one-out residual of the incumbent (Rasmussen &
  Williams eq. 5.12, in the GP's fitted scale: standardised transformed target), toward the
  good side, over its LOO predictive std: with ``alpha = K^-1 z`` (``K`` = kernel + noise),
  ``r_i = alpha_i / [K^-1]_ii`` and ``s_i^2 = 1 / [K^-1]_ii``, i.e. how far the incumbent's
  value sits beyond what the *other* points predict there (the rule's ``luck_sd`` lets the
  incumbent's own value pull the posterior mean toward it). A config evaluated several
  times is left out whole (its rows ``S``: ``r_S = ([K^-1]_SS)^-1 alpha_S``, covariance
  ``([K^-1]_SS)^-1``) and scored by its mean residual over that mean's std;
- ``loo_gap``: that mean LOO residual alone (fitted scale, unit = the target's std);
- ``loo_latent``: the residual over the LOO std of the latent mean (the noise taken out);
- ``loo_margin``: the residual over the incumbent's lead over the runner-up (fitted scale):
  above 1, the other points predict it below the runner-up;
- ``loo_refit``: like ``loo`` but from a GP *refitted* without the incumbent's rows (its
  hyperparameters, noise level included, and target transform no longer shaped by the
  draw), metric scale: the observed mean beyond the refitted mean over its predictive std;
- ``oracle_luck`` (not computable by a search, a ceiling for the ones above): the
  incumbent's true normalised regret minus that of its observed mean, i.e. how much the
  draw flatters it.

Usage::

    python benchmarks/bench_replicate_rule.py --tasks 'hpolib/*,hpolib/*:noise3' --seeds 3
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from scipy.linalg import cho_solve
from scipy.stats import mannwhitneyu
from sklearn.base import clone

from metarl.benchmarks import load_task
from metarl.compare import parse_policy
from metarl.compare._protocol import run_rounds
from metarl.compare._runner import resolve_tasks
from metarl.loop import config_groups, observed_incumbent, seed_streams

STATS = ["luck_sd", "gap_spread", "gap_margin", "margin_spread", "noise"]
LOO = ["loo", "loo_gap", "loo_latent", "loo_margin", "loo_refit", "oracle_luck"]


def loo_residual(learner, x: np.ndarray) -> tuple[float, float, float]:
    """The GP's leave-one-out residual at encoded config ``x`` (every training row holding
    it left out at once), in the fitted scale: ``(residual, std, noise)``, the mean of the
    rows' standardised targets minus the other points' prediction there, the std of that
    mean under the GP (noise included) and the fitted noise variance."""
    m = learner.models_[0]
    rows = np.flatnonzero(np.all(np.abs(m["X_scaled"] * m["length_scale"] - x) <= 1e-9, axis=1))
    L = m["L"]
    Kinv = cho_solve((L, True), np.eye(len(L)))
    C = np.linalg.inv(Kinv[np.ix_(rows, rows)])  # LOO covariance of the rows' values
    r = C @ m["alpha"][rows]  # the rows' values minus the others' prediction
    return float(r.mean()), float(np.sqrt(C.sum()) / len(rows)), float(m["noise"])


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
    r, s, nv = loo_residual(learner, space.encode_matrix(M[row : row + 1])[0])
    # toward the good side in the fitted scale (every target transform is increasing)
    z = learner.transforms_[0].transform(means)
    zm = sign * (z[g] - sign * np.sort(sign * z)[-2]) if len(first) > 1 else np.inf
    lat = max(s * s - nv / max(int(np.sum(group == g)), 1), 1e-12)
    keep = group != g
    if keep.sum() >= 2:
        other = clone(learner).fit(space.encode_matrix(M[keep]), y[keep])
        mu_o, sd_o = other.predict(space.encode_matrix(M[row : row + 1]), return_std=True)
        refit = sign * (mean - mu_o[0]) / sd_o[0] if sd_o[0] > 0 else np.inf
    else:
        refit = np.nan
    return {
        "harm": float(regret[g] - regret.min()),
        "luck_sd": gap / sd[g] if sd[g] > 0 else np.inf,
        "gap_spread": gap / spread,
        "gap_margin": gap / max(margin, 1e-12),
        "margin_spread": margin / spread,
        "noise": float(np.sqrt(noise)),
        "loo": sign * r / s,
        "loo_gap": sign * r,
        "loo_latent": sign * r / np.sqrt(lat),
        "loo_margin": sign * r / max(zm, 1e-12),
        "loo_refit": refit,
        "oracle_luck": float(regret[g] - task.normalized_regret(mean)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="hpolib/*,hpolib/*:noise3")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--harm", type=float, default=0.1)
    ap.add_argument("--csv", help="also write every scored round to this CSV file")
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
    if args.csv:
        df.to_csv(args.csv, index=False)
    out = []
    for scope, d in [("all", df), *df.groupby("group")]:
        pos, neg = d[d["harmful"]], d[~d["harmful"]]
        line = {"scope": scope, "harmful rounds": len(pos), "other rounds": len(neg)}
        for s in STATS + LOO:
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
