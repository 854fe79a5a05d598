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
- ``mean_rank``: the share of the other evaluated configs whose posterior mean is better than
  the incumbent's (the GP's noise-aware ranking disagrees with the observed one);
- ``loo_rank``: the same with leave-one-out means (each config's value as the others
  predict it; a config's rows' single-row LOO means averaged) instead of posterior means;
- ``oracle_luck`` (not computable by a search, a ceiling for the ones above): the
  incumbent's true normalised regret minus that of its observed mean, i.e. how much the
  draw flatters it.

Besides the AUC per group it prints, over the noisy runs, a 5-95% bootstrap interval (runs
resampled whole: harmful rounds come in stretches of a few runs) and the mean AUC within a
run, and how often ``luck_sd`` and ``loo`` exceed z = 1, 1.5, 2 (where a rule would fire).

Usage::

    python benchmarks/bench_replicate_rule.py --tasks 'hpolib/*,hpolib/*:noise3' --seeds 3
    python benchmarks/bench_replicate_rule.py --tasks 'hpolib/*,hpolib/*:noise3' --csv r.csv
    python benchmarks/bench_replicate_rule.py --from-csv r.csv    # rescore, no runs
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
LOO = ["loo", "loo_gap", "loo_latent", "loo_margin", "loo_refit", "mean_rank", "loo_rank"]
LOO += ["oracle_luck"]


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


def loo_means(learner) -> np.ndarray:
    """Every training row's leave-one-out mean in the fitted scale (R&W eq. 5.12):
    ``z_i - alpha_i / [K^-1]_ii``, ``z`` recovered as ``K alpha``."""
    m = learner.models_[0]
    L = m["L"]
    Kinv = cho_solve((L, True), np.eye(len(L)))
    return L @ (L.T @ m["alpha"]) - m["alpha"] / np.diagonal(Kinv)


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
    # rows of the fit -> configs: match each training row's encoding to a config's
    Xtr = learner.models_[0]["X_scaled"] * learner.models_[0]["length_scale"]
    E = space.encode_matrix(M[first])
    owner = np.argmin(np.abs(Xtr[:, None, :] - E[None]).max(-1), axis=1)
    lm = np.bincount(owner, weights=loo_means(learner), minlength=len(first))
    lm = sign * lm / np.bincount(owner, minlength=len(first))
    others = np.arange(len(first)) != g
    mean_rank = float(np.mean(sign * mu[others] > sign * mu[g])) if others.any() else 0.0
    loo_rank = float(np.mean(lm[others] > lm[g])) if others.any() else 0.0
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
        "mean_rank": mean_rank,
        "loo_rank": loo_rank,
        "oracle_luck": float(regret[g] - task.normalized_regret(mean)),
    }


def auc(d: pd.DataFrame, stat: str) -> float:
    """AUC of ``stat`` for telling the harmful rounds of ``d`` from the others."""
    a, b = d.loc[d["harmful"], stat].dropna(), d.loc[~d["harmful"], stat].dropna()
    return mannwhitneyu(a, b).statistic / (len(a) * len(b)) if len(a) and len(b) else np.nan


def score(df: pd.DataFrame, n_boot: int = 200) -> pd.DataFrame:
    """Per statistic: the AUC overall and per group, over noisy runs a 5-95% bootstrap
    interval (runs resampled whole: a run's rounds are not independent), and the mean AUC
    within a run (harmful rounds against the same run's other rounds: does the statistic
    rise when the harm starts, not only on runs that are harmful at all)."""
    out = {}
    for scope, d in [("all", df), *df.groupby("group")]:
        out[scope] = {"harmful rounds": d["harmful"].sum(), "other rounds": (~d["harmful"]).sum()}
        out[scope].update({s: auc(d, s) for s in STATS + LOO})
    noisy = df[df["group"] == "noisy"]
    runs = [d for _, d in noisy.groupby(["task", "seed"])]
    rng = np.random.default_rng(0)
    boot = [
        {s: auc(pd.concat([runs[i] for i in rng.integers(len(runs), size=len(runs))]), s)
         for s in STATS + LOO}
        for _ in range(n_boot)
    ]  # fmt: skip
    boot = pd.DataFrame(boot)
    out["noisy 5%"] = boot.quantile(0.05).to_dict()
    out["noisy 95%"] = boot.quantile(0.95).to_dict()
    mixed = [d for d in runs if 0 < d["harmful"].sum() < len(d)]
    out["within runs"] = {"harmful rounds": len(mixed)}
    out["within runs"].update({s: np.nanmean([auc(d, s) for d in mixed]) for s in STATS + LOO})
    return pd.DataFrame(out).T


def fire_rates(df: pd.DataFrame, stats=("luck_sd", "loo"), zs=(1.0, 1.5, 2.0)) -> pd.DataFrame:
    """Share of rounds whose statistic exceeds ``z`` (the rule would replicate there): among
    harmful rounds, the other rounds of noisy tasks, and clean tasks' rounds."""
    noisy, clean = df[df["group"] == "noisy"], df[df["group"] == "clean"]
    rows = []
    for s in stats:
        for z in zs:
            rows.append({
                "statistic": s, "z": z,
                "harmful": (noisy.loc[noisy["harmful"], s] > z).mean(),
                "other noisy": (noisy.loc[~noisy["harmful"], s] > z).mean(),
                "clean": (clean[s] > z).mean(),
            })  # fmt: skip
    return pd.DataFrame(rows).set_index(["statistic", "z"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="hpolib/*,hpolib/*:noise3")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--harm", type=float, default=0.1)
    ap.add_argument("--csv", help="also write every scored round to this CSV file")
    ap.add_argument("--from-csv", help="score the rounds of this CSV (--csv) instead of running")
    args = ap.parse_args()
    if args.from_csv:
        df = pd.read_csv(args.from_csv)
    else:
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
        if args.csv:
            df.to_csv(args.csv, index=False)
    df["harmful"] = df["harm"] > args.harm
    df["group"] = np.where(df["task"].str.contains(":"), "noisy", "clean")
    print(f"AUC of each statistic for harmful incumbents (regret above the best evaluated "
          f"config's by > {args.harm}); rounds of the default, {args.seeds} seeds, budget "
          f"{args.budget}")  # fmt: skip
    with pd.option_context("display.width", 250):
        print(score(df).round(3).to_string())
        print("\nShare of rounds where the statistic exceeds z:")
        print(fire_rates(df).round(2).to_string())


if __name__ == "__main__":
    main()
