"""Transfer from many past datasets: per-round cost and search quality, RGPE vs the pooled GP.

Cost (default): 20 past datasets x 500 noisy evaluations each, built from the NAS-Bench-201
tables (each past dataset: one of the family's tables, its own random configs and its own
noise draws). A round is ``fit`` on every past point plus the target's rows so far, then the
predicted mean on the target's whole 15,625-config table (what the ``exhaustive`` policy
scores every round) and on 10**5 random encodings (what a sampling policy scores). The
first round fits every past GP (cold cache); later rounds reuse them. The pooled GP (one GP
on every point, the library's default with transfer data) is timed at smaller pooled sizes
and its fit extrapolated as O(n^3). Then whole rounds as every search runs them
(``refine`` with the library's default learner, which beyond ``TRANSFER_POOLED_MAX``
transfer rows is fitted as RGPE). Wall and CPU seconds: the machine may be shared.

    python benchmarks/bench_transfer.py
    python benchmarks/bench_transfer.py --past 20 --points 500 --pooled-sizes 1000,2000

Quality (``--quality``): the transfer protocol of PROTOCOL.md through ``metarl compare``
(``run_comparison``), policies given as compare's specs separated by ``;`` (a spec's
``learner_kwargs={...}`` may hold several keys), regret @10/@25 per task, the mean, the
90th percentile and the worst over runs; with ``--cold`` also the cold-start ``default``
(no transfer) and the tasks and runs worse than it at the last checkpoint. RGPE's settings
(stacking, the past's hyperparameters for the target GP, UCB kappa 1) were chosen on HPOLib
alone (10 seeds, budget 25, batch 5; docs/RESULTS.md)::

    python benchmarks/bench_transfer.py --quality --tasks 'hpolib/*' --seeds 10 --cold \
        --policies 'default;rgpe=default(learner=rgpe,acquisition=ucb,kappa=1)' \
        --out runs/h17_hpolib

The first batch's levers of issue 17 are compare spec keys too (both opt-in, both measured
worse @10 on HPOLib, docs/RESULTS.md "Transfer: first-batch levers")::

    python benchmarks/bench_transfer.py --quality --tasks 'hpolib/*' --seeds 5 --cold \
      --policies 'default;pb3=default(past_bests=3);md3=default(acquisition=mean,min_distance=3)' \
      --out runs/x17_hpolib

(``past_bests=3``: the best observed config of 3 past datasets first, then the learner's
picks, ``refine(past_bests=...)``; ``min_distance=3``: the policy's batch diversity, default 2.
A ``default(...)`` spec with policy keywords loses the transfer default's ``acquisition=mean``:
give it.)

(The ``seconds`` column is per run in one process: a later policy finds the past GPs, and
their predictions on the table, that an earlier one of the same seed cached.)

The quality figures need the refinement round to pass ``groups=``/``target_group=`` to a
learner whose ``fit`` takes them (see :mod:`metarl.learners._transfer`); a round that does
not fits RGPE as one GP on every row, the pooled GP's cost and model.

Zero-shot portfolios (``--zero-shot``): leave one dataset out in each family (HPOLib,
NAS-Bench-201); the held-out dataset has no evaluation, the others 200 random noisy
evaluations each (the run seed's ``"transfer"`` stream, as ``Study(transfer=...)`` and
``metarl compare --transfer`` draw them). The portfolio is what ``metarl propose --transfer``
prints (``metarl.loop._transfer.zero_shot``: the shared round on an empty history, the
predicted mean, best first); its score is the true normalised regret of the best of its
top 1/5/10 configs, against the expected regret of the best of 1/5/10 random configs of
the table (exact, from the table's order statistics)::

    python benchmarks/bench_transfer.py --zero-shot --seeds 3 --learners gp,forest

Past Optuna studies (``--sampler``): ``MetaRLSampler(transfer=[past studies])`` on a
define-by-run objective over one held-out table task, the past studies being ``--past-trials``
random trials on each other dataset of its family, against the cold sampler (10 random
startup trials); true normalised regret of the best of the first 1/3/10 trials::

    python benchmarks/bench_transfer.py --sampler --families nasbench201 --seeds 3

What the first rounds hold (``--first-batch``, the first ``--policies`` spec): the first 10
configs of a transfer run and their ranks on the target's table, each past dataset's best
observed config there (``metarl.loop._transfer.past_bests``), and the best true regret of
other first batches from the same round-1 learner::

    python benchmarks/bench_transfer.py --first-batch --tasks 'hpolib/*' --seeds 10

Importing this module registers the learner ``"rgpe"`` when the registry lacks it, so that
``metarl compare --import benchmarks.bench_transfer --policies 'rgpe=default(learner=rgpe)'``
knows it too.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from metarl.learners import available_learners, register_learner

if "rgpe" not in available_learners():
    register_learner("rgpe", "metarl.learners._transfer:RGPE")

FAMILY = ("nasbench201/cifar10", "nasbench201/cifar100", "nasbench201/imagenet")
TARGET = "nasbench201/cifar10"


class Clock:
    """Wall and process-CPU seconds of a block (CPU time is robust to a shared machine)."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} / {self.cpu:.2f}"


def past_datasets(n_past: int, n_points: int, seed: int = 0):
    """``n_past`` datasets of ``n_points`` distinct random configs each: features (each with
    its source table's context), noisy values and labels ``past00``, ``past01``, ..."""
    from metarl.benchmarks import load_task

    rng = np.random.default_rng(seed)
    tasks = [load_task(name, seed) for name in FAMILY]
    Xs, ys, gs = [], [], []
    for k in range(n_past):
        task = tasks[k % len(tasks)]
        rows = rng.choice(task.n_configs, n_points, replace=False)
        M = task.all_matrix()[rows]
        Xs.append(task.space.encode_matrix(M))
        ys.append(np.asarray(task.sample_observations(M, rng), dtype=np.float64))
        gs.append(np.full(n_points, f"past{k:02d}"))
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)


def cost(args: argparse.Namespace) -> None:
    from metarl.benchmarks import load_task
    from metarl.learners import GPLearner, group_normal_scores
    from metarl.learners._transfer import RGPE, clear_transfer_cache

    rng = np.random.default_rng(1)
    X_past, y_past, g_past = past_datasets(args.past, args.points)
    target = load_task(TARGET, 0)
    table = target.space.encode_matrix(target.all_matrix())
    order = rng.permutation(target.n_configs)
    print(
        f"{args.past} past datasets x {args.points} points, target {TARGET}: table "
        f"{table.shape[0]} x {table.shape[1]}, {args.n_random} fresh random encodings a round; "
        "cells: wall / CPU seconds\n"
    )
    header = (
        "| learner | round | target rows | fit | table mean | table mean+std | "
        f"{args.n_random:.0e} random mean | {args.n_random:.0e} random mean+std "
        "| fit + table mean | models weighted |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    clear_transfer_cache()
    for r, n_t in enumerate(args.rounds):
        M_t = target.all_matrix()[order[:n_t]]
        X = np.concatenate([X_past, target.space.encode_matrix(M_t)])
        y_t = np.asarray(target.sample_observations(M_t, rng), dtype=np.float64)
        groups = np.concatenate([g_past, np.full(n_t, "target")])
        y = group_normal_scores(np.concatenate([y_past, y_t]), groups)
        random_X = target.space.encode_matrix(target.space.sample_matrix(args.n_random, rng))
        with Clock() as fit:
            learner = RGPE(random_state=0, **args.rgpe).fit(
                X, y, groups=groups, target_group="target"
            )
        with Clock() as mean:
            learner.predict_standardized(table)
        with Clock() as std:  # UCB's mean+std; the past means are cached by now, not the stds
            learner.predict_standardized(table, return_std=True)
        with Clock() as rand:  # a sampling policy's fresh candidates: nothing cached
            learner.predict_standardized(random_X)
        random_X = target.space.encode_matrix(target.space.sample_matrix(args.n_random, rng))
        with Clock() as rand_std:  # UCB on fresh candidates
            learner.predict_standardized(random_X, return_std=True)
        n_w = int((learner.weights_ > 0).sum())
        print(
            f"| RGPE | {r + 1}{' (cold)' if r == 0 else ''} | {n_t} | {fit} | {mean} | {std} "
            f"| {rand} | {rand_std} | {fit.wall + mean.wall:.2f} / {fit.cpu + mean.cpu:.2f} "
            f"| {n_w} of {args.past + 1} |",
            flush=True,
        )
    default_rounds(args, target, X_past, y_past, g_past, order, rng)
    for n in args.pooled_sizes:
        per = max(n // args.past, 1)
        keep = np.concatenate([np.flatnonzero(g_past == g)[:per] for g in np.unique(g_past)])
        y = group_normal_scores(y_past[keep], g_past[keep])
        with Clock() as fit:
            gp = GPLearner(random_state=0).fit(X_past[keep], y)
        with Clock() as mean:
            gp.predict_standardized(table)
        with Clock() as rand:
            gp.predict_standardized(
                target.space.encode_matrix(target.space.sample_matrix(args.n_random, rng))
            )
        full = args.past * args.points
        print(
            f"| pooled GP | any | {len(keep)} pooled | {fit} | {mean} | — | {rand} | — | "
            f"{fit.wall + mean.wall:.2f} / {fit.cpu + mean.cpu:.2f} | 1 |",
            flush=True,
        )
        print(
            f"(pooled fit extrapolated to {full} points as O(n^3): "
            f"{fit.cpu * (full / len(keep)) ** 3 / 3600:.1f} CPU hours)"
        )


def default_rounds(args, target, X_past, y_past, g_past, order, rng) -> None:
    """Whole rounds as every search runs them (:func:`metarl.loop.refine` with the library's
    default learner and ``"auto"`` policy, transfer defaults): with more transfer rows than
    ``TRANSFER_POOLED_MAX`` the default GP is fitted as RGPE; the round's record says so."""
    from metarl._defaults import DEFAULT_LEARNER
    from metarl.learners import make_learner
    from metarl.learners._transfer import clear_transfer_cache
    from metarl.loop import History, TransferData, make_search_policy, refine

    space = target.space
    transfer = TransferData(X_past.astype(np.float32), y_past, g_past)
    policy = make_search_policy("auto", space, None, transfer=True, seed=0)
    print(
        f"\nWhole rounds, `refine` with the default learner ({DEFAULT_LEARNER!r}) and "
        f"policy ({type(policy).__name__}, predicted mean over the table), 1 proposal:\n"
    )
    print("| round | target rows | learner fitted | fit_s | propose_s | round wall / CPU |")
    print("|---|---|---|---|---|---|")
    clear_transfer_cache()
    for r, n_t in enumerate(args.rounds):
        M_t = target.all_matrix()[order[:n_t]]
        y_t = np.asarray(target.sample_observations(M_t, rng), dtype=np.float64)
        with Clock() as whole:
            step = refine(
                space, History(M_t, y_t), 1, learner=make_learner(DEFAULT_LEARNER),
                policy=policy, direction=target.direction, transfer=transfer,
                metric=target.metric, seed=0,
            )  # fmt: skip
        rec = step.record
        print(
            f"| {r + 1}{' (cold)' if r == 0 else ''} | {n_t} | {type(step.learner).__name__} "
            f"| {rec['fit_s']:.2f} | {rec['propose_s']:.2f} | {whole} |",
            flush=True,
        )


def _policy_specs(text: str) -> list:
    """``metarl compare``'s policy specs, separated by ``;`` here, where a spec may hold
    ``learner_kwargs={a: 1, b: 2}`` (compare's own list splits at that mapping's commas)."""
    import dataclasses
    import re

    import yaml

    from metarl.compare import parse_policy

    specs = []
    for item in (t.strip() for t in text.split(";") if t.strip()):
        m = re.search(r",?\s*learner_kwargs=(\{[^}]*\})", item)
        kwargs = yaml.safe_load(m.group(1)) if m else {}
        spec = parse_policy(item[: m.start()] + item[m.end() :] if m else item)
        specs.append(dataclasses.replace(spec, learner_kwargs=kwargs))
    return specs


def quality(args: argparse.Namespace) -> None:
    import pandas as pd

    from metarl.compare import run_comparison

    common = dict(
        batch_size=args.batch_size, n_jobs=args.n_jobs, plugins=["benchmarks.bench_transfer"],
        progress=False,
    )  # fmt: skip
    runs = run_comparison(
        args.tasks, _policy_specs(args.policies), args.seeds, args.budget, out_dir=args.out,
        transfer=True, **common,
    )  # fmt: skip
    if args.cold:  # the cold-start default, the bar each task must clear at the last checkpoint
        cold = run_comparison(
            args.tasks, "default", args.seeds, args.budget, out_dir=f"{args.out}_cold",
            transfer=False, **common,
        )  # fmt: skip
        runs = pd.concat([runs, cold.assign(policy="cold")], ignore_index=True)
    last = runs["n_evals"].max()
    at = runs[runs["n_evals"].isin([10, last])]
    table = at.pivot_table(index=["task"], columns=["policy", "n_evals"], values="norm_regret")
    table.loc["mean"] = table.mean()
    per_run = at.groupby(["policy", "n_evals"])["norm_regret"]
    table.loc["p90 (runs)"] = per_run.quantile(0.9)
    table.loc["worst (runs)"] = per_run.max()
    secs = runs[runs["n_evals"] == last].groupby("policy")["seconds"].mean()
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        print(table.round(3).to_string())
    print("\nseconds per run (policy + learner, whole budget):")
    print(secs.round(1).to_string())
    if args.cold:
        print(f"\ntasks (mean over seeds) worse than cold start @{last} (by > 0.005):")
        end = table.drop(index=["mean", "p90 (runs)", "worst (runs)"]).xs(last, axis=1, level=1)
        for policy in end.columns.drop("cold"):
            worse = end.index[end[policy] > end["cold"] + 0.005].tolist()
            print(f"  {policy}: {len(worse)} of {len(end)} {worse}")
        final = runs[runs["n_evals"] == last].pivot_table(
            index=["task", "seed"], columns="policy", values="norm_regret"
        )
        print(f"runs (task, seed) worse than the cold run of the same seed @{last} (by > 0.005):")
        for policy in final.columns.drop("cold"):
            pair = final[[policy, "cold"]].dropna()
            worse = pair.index[pair[policy] > pair["cold"] + 0.005].tolist()
            print(f"  {policy}: {len(worse)} of {len(pair)} {worse}")


def random_best_of(g: np.ndarray, k: int) -> float:
    """Expected min of ``k`` distinct configs drawn at random from values ``g``:
    ``sum_i g_(i) P(min rank = i)``, ``P = C(N - i, k - 1) / C(N, k)``."""
    from scipy.special import gammaln

    g = np.sort(np.asarray(g, dtype=np.float64))
    n = len(g)
    i = np.arange(1, n - k + 2)

    def log_comb(a: np.ndarray | int, b: int) -> np.ndarray:
        return gammaln(np.asarray(a) + 1) - gammaln(b + 1) - gammaln(np.asarray(a) - b + 1)

    p = np.exp(log_comb(n - i, k - 1) - log_comb(n, k))
    return float((g[: len(i)] * p).sum() / p.sum())


def zero_shot_quality(args: argparse.Namespace) -> None:
    import pandas as pd

    from metarl.benchmarks import list_tasks, load_task
    from metarl.learners import make_learner
    from metarl.loop import load_transfer, seed_streams
    from metarl.loop._transfer import zero_shot

    ks = (1, 5, 10)
    records = []
    for family in args.families:
        names = list_tasks(family)
        for name in names:
            task = load_task(name)
            g_all = task.normalized_regret(task.true_values())
            rand = {k: random_best_of(g_all, k) for k in ks}
            for seed in range(args.seeds):
                data = load_transfer(
                    [n for n in names if n != name],
                    task.space,
                    metric=task.metric,
                    rng=seed_streams(seed)["transfer"],
                )
                for learner in args.learners:
                    with Clock() as clock:
                        step = zero_shot(
                            task.space, data, max(ks), learner=make_learner(learner),
                            direction=task.direction, metric=task.metric, seed=seed,
                        )  # fmt: skip
                    regret = np.asarray(task.normalized_regret(task.true_value(step.M)))
                    rec = {"family": family, "task": name, "seed": seed, "learner": learner}
                    rec.update({f"top{k}": float(regret[:k].min()) for k in ks})
                    rec.update({f"random{k}": rand[k] for k in ks})
                    rec["seconds"] = clock.wall
                    records.append(rec)
                    print(
                        f"{name} seed {seed} {learner}: best of top-1/5/10 "
                        + "/".join(f"{rec[f'top{k}']:.3f}" for k in ks)
                        + f" (random {'/'.join(f'{rand[k]:.3f}' for k in ks)}), {clock}",
                        flush=True,
                    )
    df = pd.DataFrame(records)
    cols = [f"top{k}" for k in ks] + [f"random{k}" for k in ks] + ["seconds"]
    print("\nmean normalised regret (true values) of the best of the portfolio's top k:")
    with pd.option_context("display.width", 200):
        print(df.groupby(["family", "learner"])[cols].mean().round(3).to_string())
        print(df.groupby(["learner"])[cols].mean().round(3).to_string())
        print(df.groupby(["task", "learner"])[cols[:3]].mean().round(3).to_string())


def _objective(task):
    """The table task as a plain Optuna objective (``suggest_categorical`` per parameter)."""

    def objective(trial) -> float:
        cfg = {n: trial.suggest_categorical(n, p.choices) for n, p in task.space.params.items()}
        return float(task(cfg)[task.metric])

    return objective


def sampler_quality(args: argparse.Namespace) -> None:
    import optuna
    import pandas as pd

    from metarl.benchmarks import list_tasks, load_task
    from metarl.sampler import MetaRLSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ks = (1, 3, 10)
    records = []
    for family in args.families:
        names = list_tasks(family)
        for name in names:
            for seed in range(args.seeds):
                past = []
                for j, other in enumerate(n for n in names if n != name):
                    sib = load_task(other, 1000 * seed + j)
                    study = optuna.create_study(
                        study_name=other,
                        direction=sib.direction,
                        sampler=optuna.samplers.RandomSampler(seed=1000 * seed + j),
                    )
                    study.optimize(_objective(sib), n_trials=args.past_trials)
                    past.append(study)
                for kind, kwargs in (("cold", {}), ("transfer", {"transfer": past})):
                    task = load_task(name, seed)
                    study = optuna.create_study(
                        study_name=name,
                        direction=task.direction,
                        sampler=MetaRLSampler(seed=seed, **kwargs),
                    )
                    with Clock() as clock:
                        study.optimize(_objective(task), n_trials=max(ks))
                    params = [{n: t.params[n] for n in task.space.params} for t in study.trials]
                    regret = np.asarray(task.normalized_regret(task.true_value(params)))
                    rec = {"task": name, "seed": seed, "sampler": kind, "seconds": clock.wall}
                    rec.update({f"@{k}": float(regret[:k].min()) for k in ks})
                    records.append(rec)
                    print(
                        f"{name} seed {seed} {kind}: "
                        + "/".join(f"{rec[f'@{k}']:.3f}" for k in ks)
                        + f", {clock}",
                        flush=True,
                    )
    df = pd.DataFrame(records)
    cols = [f"@{k}" for k in ks] + ["seconds"]
    print("\nmean normalised regret (true values) of the best of the first k trials:")
    print(df.groupby(["task", "sampler"])[cols].mean().round(3).to_string())
    print(df.groupby("sampler")[cols].mean().round(3).to_string())


def first_batch(args: argparse.Namespace) -> None:
    """What the first rounds of a transfer run hold: the first 10 configs of the first
    ``--policies`` spec (``run_rounds``, budget 10), ranked on the target's table, each past
    dataset's best observed config there, and the best true regret of other first batches
    from the same fitted round-1 learner."""
    import pandas as pd

    from metarl.agents import make_policy
    from metarl.benchmarks import load_task, match_tasks
    from metarl.compare._protocol import run_rounds, sibling_tasks
    from metarl.learners import acquisition
    from metarl.loop import load_transfer, seed_streams
    from metarl.loop._transfer import past_bests

    spec = _policy_specs(args.policies)[0]
    rows = []
    for name in match_tasks(args.tasks):
        for seed in range(args.seeds):
            task = load_task(name, seed_streams(seed)["noise"])
            space, all_M = task.space, task.all_matrix()
            g = np.asarray(task.g(task.true_values()))
            rank = np.empty(len(g), int)
            rank[np.argsort(g, kind="stable")] = np.arange(len(g))
            row_of = {key: i for i, key in enumerate(space.keys(all_M))}

            def regret(M: np.ndarray, task: Any = task) -> np.ndarray:
                return np.asarray(task.normalized_regret(task.true_value(M)), dtype=float)

            steps = [
                s for s, _ in run_rounds(spec, task, seed, budget=10, batch_size=5, transfer=True)
            ]
            first = np.concatenate([s.M for s in steps])
            r = regret(first)
            prior = load_transfer(
                sibling_tasks(name), space, metric=task.metric, rng=seed_streams(seed)["transfer"]
            )
            bests = past_bests(space, prior, task.direction)
            learner = steps[0].learner
            pred = acquisition(learner, space.encode_matrix(all_M), "mean", 0.0, task.direction)
            pred_rank = np.empty(len(pred), int)
            pred_rank[np.argsort(-pred, kind="stable")] = np.arange(len(pred))
            rec = {
                "task": name, "seed": seed, "@5": r[:5].min(), "@10": r.min(),
                "rank first 5": np.median(rank[[row_of[k] for k in space.keys(first[:5])]]),
                "rank next 5": np.median(rank[[row_of[k] for k in space.keys(first[5:])]]),
                "pred rank of best": pred_rank[np.argmin(g)],
                "top50 in pred top50": np.isin(np.argsort(-pred)[:50], np.argsort(g)[:50]).sum(),
                "past bests: median rank": np.median(rank[[row_of[k] for k in space.keys(bests)]]),
                "past bests @k": regret(bests).min(),
            }  # fmt: skip
            for d in (1, 3):
                pol = make_policy("exhaustive", acquisition="mean", min_distance=d, seed=seed)
                picks = pol.propose(space, learner, 5, direction=task.direction)
                rec[f"min_distance={d} @5"] = regret(space.to_matrix(picks)).min()
            n = min(len(bests), 5)
            pol = make_policy("exhaustive", acquisition="mean", seed=seed)
            fill = pol.propose(space, learner, 5 - n, direction=task.direction,
                               exclude=space.to_configs(bests)) if n < 5 else []  # fmt: skip
            rec["past bests + learner @5"] = min(
                regret(bests[:n]).min(), regret(space.to_matrix(fill)).min() if fill else np.inf
            )
            rows.append(rec)
            print({k: round(float(v), 3) if k not in ("task",) else v for k, v in rec.items()})
    df = pd.DataFrame(rows).drop(columns="seed")
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        table = df.groupby("task").mean()
        table.loc["mean"] = df.drop(columns="task").mean()
        table.loc["p90 (runs)"] = df.drop(columns="task").quantile(0.9)
        print(table.round(3).to_string())


def _literal(text: str) -> object:
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quality", action="store_true", help="search quality instead of cost")
    p.add_argument(
        "--zero-shot", action="store_true", help="zero-shot portfolios, one dataset held out"
    )
    p.add_argument("--sampler", action="store_true", help="MetaRLSampler with past studies")
    p.add_argument(
        "--first-batch", action="store_true", help="what the first rounds of a transfer run hold"
    )
    p.add_argument("--past-trials", type=int, default=100, help="trials per past study")
    p.add_argument("--families", default="hpolib,nasbench201", help="families (zero-shot, sampler)")
    p.add_argument("--learners", default="gp,forest", help="learners (zero-shot)")
    p.add_argument("--past", type=int, default=20, help="past datasets (cost)")
    p.add_argument("--points", type=int, default=500, help="points per past dataset (cost)")
    p.add_argument("--rounds", default="0,5,10,15,20,25,50", help="target rows per round")
    p.add_argument("--n-random", type=int, default=10**5, help="random encodings predicted")
    p.add_argument(
        "--rgpe", default="", help="RGPE keyword arguments (cost), e.g. 'past_std=False'"
    )
    p.add_argument("--pooled-sizes", default="1000,2000", help="pooled GP sizes ('' to skip)")
    p.add_argument("--tasks", default="hpolib/*", help="tasks (quality)")
    p.add_argument(
        "--policies",
        default="default;rgpe=default(learner=rgpe,acquisition=ucb,kappa=1)",
        help="policy specs (quality), separated by ';'",
    )
    p.add_argument("--cold", action="store_true", help="also the cold-start default (quality)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=5)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--out", default="runs/transfer_rgpe")
    args = p.parse_args()
    args.rounds = [int(v) for v in args.rounds.split(",")]
    args.rgpe = {
        k: _literal(v) for k, _, v in (kv.partition("=") for kv in args.rgpe.split(",") if kv)
    }
    args.pooled_sizes = [int(v) for v in args.pooled_sizes.split(",") if v]
    args.families = [v for v in args.families.split(",") if v]
    args.learners = [v for v in args.learners.split(",") if v]
    if args.first_batch:
        first_batch(args)
    elif args.zero_shot:
        zero_shot_quality(args)
    elif args.sampler:
        sampler_quality(args)
    elif args.quality:
        quality(args)
    else:
        cost(args)


if __name__ == "__main__":
    main()
