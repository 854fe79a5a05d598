"""End to end on real training (issue 11, point 3): ``MetaRLSampler()`` with its defaults
against Optuna's TPESampler, GPSampler and RandomSampler, each driven as a user drives it,
``optuna.create_study(direction="maximize", sampler=...).optimize(objective, n_trials)``.

The tasks (``_real_tasks.py``) really train at every trial: metarl's SklearnTrainer on digits
(feature Subset x model family x conditional hyperparameters, ~2**73), a make_classification
feature-selection task (~2**49) and a torch MLP with per-layer choices (~2**51). The
objective suggests a config of the task's SearchSpace define-by-run (``suggest_config``, the
library's glue: a Subset is one boolean per column, an ordered choice an int index as in
PROTOCOL.md, a conditional parameter is suggested only when active; a subset suggested
empty gets random columns added). A config the space still refuses would be pruned, as the
examples do (none was in the runs of docs/RESULTS.md).

Figures: the best value reached after 10/25/50 trials (pruned trials count as trials), the
mean rank of the samplers over (task, seed) at each budget (1 = best; ties share), the worst
seed, and the sampler overhead per trial: the wall time between the end of one trainer call
and the start of the next (ask, the sampler's proposal, suggest, tell), i.e. everything but
the trainer. Runs go seed by seed (every task and sampler of a seed before the next seed) and
are appended to ``--out`` as they finish, so a run cut short still reports whole seeds.

    python benchmarks/bench_real_training.py                       # 10 seeds x 50 trials
    python benchmarks/bench_real_training.py --seeds 2 --trials 10 --out /tmp/real_smoke
    python benchmarks/bench_real_training.py --max-minutes 50 --resume  # cut seeds to fit
    python benchmarks/bench_real_training.py --report --out /tmp/bench_real_training
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _real_tasks import TASKS, RealTask, make_task  # noqa: E402

SAMPLERS = ("metarl", "tpe", "gp", "random")
RUN_FIELDS = [
    "task",
    "seed",
    "sampler",
    "trials",
    "budgets",
    "best",
    "n_pruned",
    "n_duplicates",
    "overhead_median",
    "overhead_median_after_startup",
    "overhead_p90",
    "overhead_max",
    "overhead_total",
    "trainer_total",
    "wall",
    "error",
]
TRIAL_FIELDS = [
    "task",
    "seed",
    "sampler",
    "trial",
    "value",
    "trainer_s",
    "overhead_s",
    "state",
    "config",
]
STARTUP = 10  # MetaRLSampler's n_startup_trials default: its first trials are random


def _metarl_variant(name: str) -> tuple[dict[str, Any], Any] | None:
    """``(policy_kwargs, learner)`` of a MetaRLSampler variant, ``metarl`` followed by
    ``-``-separated changes of the default: ``mean`` (rank by the predicted mean),
    ``ucb<kappa>`` (e.g. ``ucb0.5``), ``elite`` (local search also climbs from the 8 best
    evaluated configs, ``n_history_starts=8``), ``tr[<init>][f<fail_tol>][r]`` (``tr``,
    ``tr0.5f5r``: local search in a trust region around the incumbent, ``trust_region=True``
    or those settings, ``r``: ``recentre``), ``fam<N>`` (the trust region rotates over
    the model families after N results without improvement, ``family_after=N``),
    ``tpe<k>`` (every k-th round proposed by Optuna's TPE over the history,
    ``hedge="tpe", hedge_every=k``), ``stall<N>`` (TPE proposes only while stalled: from
    the N-th model-based result without improvement, every other round, or every k-th with
    ``tpe<k>``; ``hedge_after=N``), ``cmean[<k>]`` (the trust region is centred on the
    evaluated config with the best posterior mean, among the k best observed with ``<k>``:
    ``centre="mean"``, ``centre_top=k``), ``L<learner>`` (``Llinear``; ``Lgp+linear`` the
    equal-weight ensemble of both). E.g. ``metarl-elite-ucb0.5``, ``metarl-tpe2-fam8``.
    None for any other name."""
    parts = name.split("-")
    if parts[0] != "metarl" or len(parts) == 1:
        return None
    kwargs: dict[str, Any] = {"acquisition": "ucb", "kappa": 2.0}  # the default's
    learner: Any = None
    region: dict[str, Any] = {}
    for part in parts[1:]:
        if part == "mean":
            kwargs = {k: v for k, v in kwargs.items() if k != "kappa"} | {"acquisition": "mean"}
        elif m := re.fullmatch(r"ucb(\d+(?:\.\d*)?)", part):
            kwargs["kappa"] = float(m[1])
        elif part == "elite":
            kwargs["n_history_starts"] = 8
        elif m := re.fullmatch(r"tr(\d*\.?\d+)?(?:f(\d+))?(r)?", part):
            tr: dict[str, Any] = {"init": float(m[1])} if m[1] else {}
            tr |= {"fail_tol": int(m[2])} if m[2] else {}
            kwargs["trust_region"] = tr | ({"recentre": True} if m[3] else {}) or True
        elif m := re.fullmatch(r"fam(\d+)", part):
            region["family_after"] = int(m[1])
        elif m := re.fullmatch(r"cmean(\d*)", part):
            region |= {"centre": "mean"} | ({"centre_top": int(m[1])} if m[1] else {})
        elif m := re.fullmatch(r"tpe(\d+)", part):
            kwargs |= {"hedge": "tpe", "hedge_every": int(m[1])}
        elif m := re.fullmatch(r"stall(\d+)", part):
            kwargs |= {"hedge": "tpe", "hedge_after": int(m[1])}
        elif part.startswith("L") and len(part) > 1:
            members = part[1:].split("+")
            learner = members[0] if len(members) == 1 else ("ensemble", members)
        else:
            return None
    if region:  # over the tr settings given, or the default region
        tr = kwargs.get("trust_region", True)
        kwargs["trust_region"] = (tr if isinstance(tr, dict) else {}) | region
    return kwargs, learner


def make_sampler(name: str, seed: int) -> Any:
    """The sampler ``name`` with its defaults and ``seed``, as a user builds it (the
    ``metarl-*`` variants change the acquisition, policy or learner of the default)."""
    import optuna

    from metarl import MetaRLSampler
    from metarl.learners import make_learner

    if name == "metarl":
        return MetaRLSampler(seed=seed)
    if (variant := _metarl_variant(name)) is not None:
        kwargs, learner = variant
        if learner is None:
            return MetaRLSampler(seed=seed, policy_kwargs=kwargs)
        if isinstance(learner, tuple):
            learner = make_learner("ensemble", members=learner[1])
        return MetaRLSampler(seed=seed, policy_kwargs=kwargs, learner=learner)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}; valid: {', '.join(SAMPLERS)}, metarl-<change>-...")


def run_one(task: RealTask, seed: int, sampler: str, n_trials: int) -> tuple[dict, list[dict]]:
    """One study: its per-trial records and the best value after each trial."""
    import optuna

    from metarl.agents._optuna import suggest_config  # the library's define-by-run glue
    from metarl.space import SpaceError

    trainer = task.make_trainer(seed)
    trials: list[dict] = []
    seen: set[str] = set()
    clock = {"end": 0.0}  # end of the previous trainer call (or of the study's start)
    duplicates = 0

    def objective(trial: optuna.Trial) -> float:
        nonlocal duplicates
        config = suggest_config(trial, task.space)
        key = json.dumps(config, sort_keys=True, default=str)
        duplicates += key in seen
        seen.add(key)
        start = time.perf_counter()
        rec = {"trial": trial.number, "overhead_s": start - clock["end"], "value": np.nan}
        rec["config"] = key
        trials.append(rec)
        try:
            task.space.validate(config)
        except SpaceError as e:  # not a config of the task: nothing to train
            rec["trainer_s"], rec["state"] = 0.0, "pruned"
            clock["end"] = time.perf_counter()
            raise optuna.TrialPruned(str(e)) from None
        value = float(trainer(config))
        clock["end"] = time.perf_counter()
        rec.update(value=value, trainer_s=clock["end"] - start, state="complete")
        return value

    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler, seed))
    error = ""
    t0 = clock["end"] = time.perf_counter()
    try:
        study.optimize(objective, n_trials=n_trials)
    except Exception as e:  # noqa: BLE001 - a sampler crash is a result to report
        error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    wall = time.perf_counter() - t0
    values = np.array([r["value"] for r in trials], dtype=float)
    best = np.fmax.accumulate(np.where(np.isnan(values), -np.inf, values)) if len(values) else []
    over = np.array([r["overhead_s"] for r in trials])
    after = over[STARTUP:] if len(over) > STARTUP else over[-1:]
    run = {
        "task": task.name,
        "seed": seed,
        "sampler": sampler,
        "trials": len(trials),
        "best": [round(float(b), 6) if np.isfinite(b) else None for b in best],
        "n_pruned": sum(r["state"] == "pruned" for r in trials),
        "n_duplicates": duplicates,
        "overhead_median": float(np.median(over)) if len(over) else np.nan,
        "overhead_median_after_startup": float(np.median(after)) if len(after) else np.nan,
        "overhead_p90": float(np.quantile(over, 0.9)) if len(over) else np.nan,
        "overhead_max": float(over.max()) if len(over) else np.nan,
        "overhead_total": float(over.sum()),
        "trainer_total": float(sum(r.get("trainer_s", 0.0) for r in trials)),
        "wall": wall,
        "error": error,
    }
    for r in trials:
        r.update(task=task.name, seed=seed, sampler=sampler)
    return run, trials


# ---------------------------------------------------------------------------- files
def _append(path: Path, fields: list[str], rows: list[dict]) -> None:
    fresh = not path.exists()
    if not fresh:  # keep the columns of a file an older version of this script started
        with path.open() as f:
            fields = next(csv.reader(f), fields)
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fields, extrasaction="ignore")
        if fresh:
            w.writeheader()
        w.writerows(rows)


def _run_row(run: dict, budgets: list[int]) -> dict:
    row = dict(run)
    row["best"] = json.dumps(run["best"])
    row["budgets"] = json.dumps({n: best_at(run, n) for n in budgets})
    return row


def read_runs(out: Path) -> list[dict]:
    """The runs recorded in ``out/runs.csv`` (``best``: the best value after each trial)."""
    path = out / "runs.csv"
    if not path.exists():
        return []
    runs = []
    with path.open() as f:
        for r in csv.DictReader(f):
            r["seed"], r["trials"] = int(r["seed"]), int(r["trials"])
            r["best"] = json.loads(r["best"])
            for k in ("n_pruned", "n_duplicates"):
                r[k] = int(r[k])
            for k in RUN_FIELDS[8:15]:
                r[k] = float(r[k])
            runs.append(r)
    return runs


def best_at(run: dict, n: int) -> float:
    """Best value after ``n`` trials (NaN when the run has fewer, or none completed)."""
    b = run["best"]
    if len(b) < n or b[n - 1] is None:
        return float("nan")
    return float(b[n - 1])


# ---------------------------------------------------------------------------- summary
def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank 1 = highest; ties share the mean rank; NaN (no value) ranks last."""
    from scipy.stats import rankdata

    return rankdata(-np.nan_to_num(values, nan=-np.inf), method="average")


def summarise(runs: list[dict], samplers: list[str], budgets: list[int]) -> dict:
    """Mean/worst best value per task, mean rank over (task, seed), overhead per sampler.

    Only (task, seed) blocks where every sampler finished without error count, so that each
    rank compares the same samplers on the same seeds.
    """
    by = {(r["task"], r["seed"], r["sampler"]): r for r in runs}
    tasks = list(dict.fromkeys(r["task"] for r in runs))
    blocks = [
        (t, s)
        for t, s in dict.fromkeys((r["task"], r["seed"]) for r in runs)
        if all((t, s, p) in by and not by[t, s, p]["error"] for p in samplers)
    ]
    out: dict[str, Any] = {"blocks": len(blocks), "budgets": budgets, "tasks": {}, "rank": {}}
    for t in tasks:
        seeds = [s for tt, s in blocks if tt == t]
        out["tasks"][t] = {"seeds": len(seeds)}
        for p in samplers:
            vals = np.array([[best_at(by[t, s, p], n) for n in budgets] for s in seeds])
            vals = vals.reshape(len(seeds), len(budgets))
            out["tasks"][t][p] = {
                "mean": np.nanmean(vals, axis=0).tolist() if len(seeds) else [],
                "worst": np.nanmin(vals, axis=0).tolist() if len(seeds) else [],
            }
    for n in budgets:
        R = np.array(
            [_ranks(np.array([best_at(by[t, s, p], n) for p in samplers])) for t, s in blocks]
        )
        R = R.reshape(len(blocks), len(samplers))
        for i, p in enumerate(samplers):
            d = out["rank"].setdefault(p, {"mean": [], "worst": [], "wins": []})
            d["mean"].append(float(R[:, i].mean()) if len(blocks) else np.nan)
            d["worst"].append(float(R[:, i].max()) if len(blocks) else np.nan)
            d["wins"].append(int((R[:, i] == R.min(axis=1)).sum()) if len(blocks) else 0)
    out["overhead"] = {}
    for p in samplers:
        rs = [by[t, s, p] for t, s in blocks]
        out["overhead"][p] = {
            k: float(np.median([r[k] for r in rs])) if rs else np.nan
            for k in (
                "overhead_median",
                "overhead_median_after_startup",
                "overhead_p90",
                "trainer_total",
                "wall",
            )
        } | {
            "overhead_max": max((r["overhead_max"] for r in rs), default=np.nan),
            "duplicates": sum(r["n_duplicates"] for r in rs),
            "pruned": sum(r["n_pruned"] for r in rs),
        }
    out["errors"] = [
        f"{r['task']} seed {r['seed']} {r['sampler']}: {r['error']}" for r in runs if r["error"]
    ]
    return out


def print_summary(s: dict, samplers: list[str]) -> None:
    budgets = s["budgets"]
    wd = max(8, *map(len, samplers))
    at = "  ".join(f"@{n:<5}" for n in budgets)
    print(f"\n(task, seed) blocks with every sampler finished: {s['blocks']}")
    for t, d in s["tasks"].items():
        print(f"\n{t} ({d['seeds']} seeds): best value, mean over seeds | worst seed")
        print(f"  {'sampler':<{wd}}  {at}  | {at}")
        for p in samplers:
            m = "  ".join(f"{v:.4f}" for v in d[p]["mean"])
            w = "  ".join(f"{v:.4f}" for v in d[p]["worst"])
            print(f"  {p:<{wd}}  {m}  | {w}")
    print("\nrank over (task, seed) blocks (1 = best): mean | worst | wins (rank 1, ties too)")
    print(f"  {'sampler':<{wd}}  {at}  | {at}  | {'/'.join(f'@{n}' for n in budgets)}")
    for p in samplers:
        d = s["rank"][p]
        m = "  ".join(f"{v:<6.2f}" for v in d["mean"])
        w = "  ".join(f"{v:<6.1f}" for v in d["worst"])
        print(f"  {p:<{wd}}  {m}  | {w}  | {'/'.join(map(str, d['wins']))}")
    print(
        "\nsampler overhead per trial (s, trainer excluded; medians over runs): "
        f"all trials | trials > {STARTUP} | p90 | max;\n  per run: trainer s | wall s; "
        "in all: duplicate configs | pruned"
    )
    for p in samplers:
        o = s["overhead"][p]
        print(
            f"  {p:<{wd}}  {o['overhead_median']:.3f}  {o['overhead_median_after_startup']:.3f}"
            f"  {o['overhead_p90']:.3f}  {o['overhead_max']:.2f}  {o['trainer_total']:.1f}"
            f"  {o['wall']:.1f}"
            f"  {o['duplicates']}  {o['pruned']}"
        )
    for e in s["errors"]:
        print(f"ERROR {e}")


# ---------------------------------------------------------------------------- main
def _names(text: str, valid: tuple[str, ...], what: str, extra: str = "") -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in valid and not (extra and _metarl_variant(n))]
    if bad or not names:
        raise SystemExit(f"error: unknown {what} {bad or text!r}; valid: {', '.join(valid)}{extra}")
    return names


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default="digits,features,mlp", help=f"of {', '.join(TASKS)}")
    ap.add_argument(
        "--samplers",
        default=",".join(SAMPLERS),
        help=f"of {', '.join(SAMPLERS)}, metarl-<change>-... (e.g. metarl-tr-Llinear)",
    )
    ap.add_argument("--seeds", type=int, default=10, help="seeds F .. F+N-1 (F: --first-seed)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--budgets", default="10,25,50", help="report the best value at these")
    ap.add_argument("--out", default="/tmp/bench_real_training", help="folder for the files")
    ap.add_argument("--resume", action="store_true", help="skip runs already in --out")
    ap.add_argument("--report", action="store_true", help="only summarise --out")
    ap.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="start no seed that would end past this (projected: the longest seed so far)",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (1 on shared)")
    args = ap.parse_args(argv)
    tasks = _names(args.tasks, tuple(TASKS), "task")
    extra = (
        ", metarl-<change>-... (mean, ucb<k>, elite, tr[<init>][f<tol>][r], fam<N>, tpe<k>, "
        "stall<N>, cmean[<k>], L<learner>)"
    )
    samplers = _names(args.samplers, SAMPLERS, "sampler", extra)
    if args.seeds < 1 or args.trials < 1:
        raise SystemExit(
            f"error: --seeds and --trials must be >= 1, got {args.seeds}, {args.trials}"
        )
    try:
        budgets = sorted({min(int(b), args.trials) for b in args.budgets.split(",")})
    except ValueError:
        raise SystemExit(f"error: --budgets must be integers, got {args.budgets!r}") from None
    out = Path(args.out)
    if not args.report:
        _run(args, tasks, samplers, budgets, out)
    runs = [r for r in read_runs(out) if r["task"] in tasks and r["sampler"] in samplers]
    summary = summarise(runs, samplers, budgets)
    print_summary(summary, samplers)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nwrote {out / 'runs.csv'}, {out / 'trials.csv'}, {out / 'summary.json'}")
    return summary


def _run(args: argparse.Namespace, tasks: list[str], samplers: list[str], budgets, out) -> None:
    import optuna
    import torch
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # not GPSampler's per-trial fallback note
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        for name in ("runs.csv", "trials.csv"):
            (out / name).unlink(missing_ok=True)
    done = {
        (r["task"], r["seed"], r["sampler"]) for r in read_runs(out) if r["trials"] == args.trials
    }
    built = {t: make_task(t) for t in tasks}
    t_start, per_seed = time.perf_counter(), []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        elapsed = time.perf_counter() - t_start
        if args.max_minutes and per_seed and elapsed + max(per_seed) > 60 * args.max_minutes:
            print(
                f"stopping before seed {seed}: {elapsed / 60:.1f} min spent, a seed takes "
                f"~{max(per_seed) / 60:.1f} min (--max-minutes {args.max_minutes})"
            )
            break
        t_seed, ran = time.perf_counter(), False
        for t in tasks:
            for p in samplers:
                if (t, seed, p) in done:
                    continue
                ran = True
                run, trials = run_one(built[t], seed, p, args.trials)
                _append(out / "runs.csv", RUN_FIELDS, [_run_row(run, budgets)])
                _append(out / "trials.csv", TRIAL_FIELDS, trials)
                at = " ".join(f"@{n}={best_at(run, n):.4f}" for n in budgets)
                print(
                    f"{t:<9} seed {seed:>2} {p:<7} {at}  overhead/trial median "
                    f"{run['overhead_median']:.3f} s (after {STARTUP}: "
                    f"{run['overhead_median_after_startup']:.3f})  trainer "
                    f"{run['trainer_total']:.1f} s  wall {run['wall']:.1f} s"
                    + (f"  dup {run['n_duplicates']}" if run["n_duplicates"] else "")
                    + (f"  ERROR {run['error']}" if run["error"] else ""),
                    flush=True,
                )
        if ran:
            per_seed.append(time.perf_counter() - t_seed)


if __name__ == "__main__":
    main()
