"""Acquisition optimizers on large spaces (issue 11, point 1): who finds the best config of a
meta-learner's acquisition, at equal learner evaluations and at equal CPU time.

Spaces (``benchmarks/_spaces.py``, each >= 2**40 configs, learner fitted on real results):
the sklearn digits space (~2**73), a torch MLP architecture space (~2**51), a
``make_classification`` feature-selection space (~2**48), and ``columns``, a held-out family
no optimizer was tuned on (a preprocessing choice per breast_cancer column, ~2**54). The
acquisition is the library's UCB, kappa 2, on the learner's standardised scale
(``metarl.learners.acquisition``).

Every optimizer runs until it has had ``--max-evals`` configs scored or spent
``--max-seconds`` of CPU, whichever comes first; the learner is wrapped (:class:`Tracker`)
so that every config it scores is counted and its acquisition recorded. "Best at budget B"
is the best acquisition among the configs the optimizer had scored when it had scored B
(or spent B CPU seconds): the incumbent an any-time optimizer would return. CPU seconds
(``time.process_time``, one thread per run) are used rather than wall seconds because the
machine is shared; a time column after a run stopped at ``--max-evals`` repeats its final
value, an evaluation column it never reached within the time cap is "-", and so is a time
column past an optimizer's own cap (``--seconds-for``).

Contenders: ``surrogate_sampling`` (scored uniform sample), ``evolution`` (regularized
evolution, library defaults: population 20, batches of 20) and ``evolution_b200``
(population and batches of 200), ``local_search`` (the library's ``LocalSearch``, what
``"auto"`` runs beyond the enumerable size, restarted with fresh seeds), ``smac_style``
(local search interleaved with random search), ``tpe`` (Optuna's TPESampler on the
acquisition, one config per trial), ``ppo`` (the library's PPO with its current defaults,
fine-tuned round after round), ``ppo_fixed`` (50,000 steps every round, proposals sampled
step by step: the library's defaults before commit a76e040), ``ppo_then_local``
(``agents/local_search.py``: PPO's proposals polished by the library's hill climbing) and
the prototypes of ``_ppo_variants.py``.

    python benchmarks/bench_acq_optimizers.py                      # 5 seeds, all contenders
    python benchmarks/bench_acq_optimizers.py --quick              # smoke test, < 3 min
    python benchmarks/bench_acq_optimizers.py --seeds 5 --jobs 2 --seconds-for tpe=10 \
        --optimizers surrogate_sampling,evolution_b200,local_search,smac_style,tpe,ppo
    python benchmarks/bench_acq_optimizers.py --spaces digits,mlp,features,columns --seeds 3 \
        --optimizers local_search,evolution_b200,smac_style,surrogate_sampling,ppo
    python benchmarks/bench_acq_optimizers.py --report --out /tmp/h_runs/acq_full.csv
    python benchmarks/bench_acq_optimizers.py --profile-ppo digits --seeds 2  # PPO's time
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's agents/

from _spaces import CASES  # noqa: E402

from metarl.learners import make_learner  # noqa: E402
from metarl.learners._acquisition import acquisition_from_prediction  # noqa: E402
from metarl.learners._base import MetaLearner  # noqa: E402
from metarl.space import SearchSpace  # noqa: E402

warnings.filterwarnings("ignore")
EVAL_CHECKS = (1_000, 4_000, 16_000, 64_000, 256_000)
TIME_CHECKS = (1.0, 5.0, 30.0)
KAPPA = 2.0
UCB = {"acquisition": "ucb", "kappa": KAPPA}


class OutOfBudgetError(Exception):
    """Raised by :class:`Tracker` once the run's evaluation or CPU budget is spent."""


class Tracker(MetaLearner):
    """A fitted learner that counts the configs it scores and records the best UCB among them.

    Each call appends ``(configs scored so far, CPU s, wall s, best UCB so far)`` to
    ``trace_``; the first call after the budget is spent raises :class:`OutOfBudgetError`,
    which ends the run wherever the optimizer is. The predictions are the inner learner's.
    """

    def __init__(self, inner: MetaLearner, max_evals: int, max_seconds: float) -> None:
        self.inner = inner
        self.max_evals = max_evals
        self.max_seconds = max_seconds
        self.n_features_in_ = inner.n_features_in_
        self.n_targets_ = inner.n_targets_
        self.target_names_ = inner.target_names_
        self.restart()

    def restart(self) -> None:
        """Zero the counters and the clock."""
        self.count_, self.best_, self.best_x_ = 0, -np.inf, None
        self.learner_seconds_ = 0.0
        self.trace_: list[tuple[int, float, float, float]] = []
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()

    def cpu(self) -> float:
        return time.process_time() - self._cpu0

    def fit(self, X, y, *, target_names=None):
        raise TypeError("Tracker wraps a fitted learner; it does not fit")

    def predict_standardized(self, X, return_std=False):
        if self.count_ >= self.max_evals or self.cpu() >= self.max_seconds:
            raise OutOfBudgetError
        t = time.process_time()
        mu, sd = self.inner.predict_standardized(X, return_std=True)
        acq = acquisition_from_prediction(mu[:, 0], sd[:, 0], "ucb", KAPPA, 1.0)
        self.count_ += len(X)
        i = int(np.argmax(acq))
        if acq[i] > self.best_:
            self.best_, self.best_x_ = float(acq[i]), np.array(X[i], dtype=np.float64)
        self.learner_seconds_ += time.process_time() - t
        self.trace_.append((self.count_, self.cpu(), time.perf_counter() - self._wall0, self.best_))
        return (mu, sd) if return_std else mu

    def to_metric_scale(self, mu, sd=None):
        return self.inner.to_metric_scale(mu, sd)

    def predict(self, X, return_std=False):
        mu, sd = self.to_metric_scale(*self.predict_standardized(X, return_std=True))
        return (mu[:, 0], sd[:, 0]) if return_std else mu[:, 0]


# ---------------------------------------------------------------------------- contenders
def _until_budget(propose: Callable[[int], object]) -> None:
    """Call ``propose(round)`` until the tracker raises :class:`OutOfBudgetError`."""
    r = 0
    while True:
        propose(r)
        r += 1


def run_policy(
    name: str, factory: Callable | None = None, **kwargs
) -> Callable[[SearchSpace, Tracker, int], None]:
    """A registered policy (or ``factory(**kwargs)``), proposing round after round: other
    policies restart with fresh seeds, a PPO model keeps fine-tuning across rounds, as in
    the refinement loop."""

    def run(space: SearchSpace, learner: Tracker, seed: int) -> None:
        from metarl.agents import make_policy

        build = factory or (lambda **kw: make_policy(name, **kw))
        policy = build(**UCB, **kwargs, seed=seed)
        run.policy = policy  # its diagnostics_, if any, are reported

        def one(r: int) -> None:
            if r and not name.startswith("ppo"):
                policy.reseed(seed + 1000 * r)
            policy.propose(space, learner, 10, direction="maximize")

        _until_budget(one)

    return run


def run_smac_style(space: SearchSpace, learner: Tracker, seed: int, n_points: int = 10) -> None:
    """SMAC-style acquisition optimisation: best-improvement local search from the best of
    a random sample, interleaved with as many fresh random configs per step; a point at a
    local optimum restarts from the best random config not used yet."""
    from metarl.agents import neighbours, sample_grid
    from metarl.learners import acquisition

    rng = np.random.default_rng(seed)

    def score(M: np.ndarray) -> np.ndarray:
        return acquisition(learner, space.encode_matrix(M), "ucb", KAPPA, "maximize")

    R = sample_grid(space, 1000, rng)
    fr = score(R)
    order = np.argsort(-fr)
    X, fx, spare, spare_f = R[order[:n_points]], fr[order[:n_points]], [], []
    while True:
        N, origin = neighbours(space, X, rng)
        fn = score(N)
        R = sample_grid(space, len(N), rng)  # the interleaved random search
        spare.append(R)
        spare_f.append(score(R))
        best = np.full(len(X), -np.inf)
        np.maximum.at(best, origin, fn)
        hit = fn == best[origin]
        arg = np.full(len(X), -1)
        arg[origin[hit]] = np.flatnonzero(hit)
        move = best > fx
        X[move], fx[move] = N[arg[move]], best[move]
        stuck = np.flatnonzero(~move)
        if len(stuck):
            pool, pool_f = np.concatenate(spare), np.concatenate(spare_f)
            top = np.argsort(-pool_f)[: len(stuck)]
            X[stuck], fx[stuck] = pool[top], pool_f[top]
            keep = np.setdiff1d(np.arange(len(pool)), top)
            spare, spare_f = [pool[keep]], [pool_f[keep]]


def run_optuna(sampler: str) -> Callable[[SearchSpace, Tracker, int], None]:
    """An Optuna sampler maximising the acquisition, one config per trial (define-by-run
    over the space's Optuna distributions, conditional parameters only when active)."""

    def run(space: SearchSpace, learner: Tracker, seed: int) -> None:
        import optuna

        from metarl.agents._optuna import suggest_config  # the library's define-by-run glue
        from metarl.learners import acquisition

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # CmaEsSampler is left out: it samples categorical parameters (every Subset item,
        # model family, activation) independently at random, i.e. most of these spaces
        make = {"tpe": optuna.samplers.TPESampler}
        study = optuna.create_study(direction="maximize", sampler=make[sampler](seed=seed))
        while True:
            trial = study.ask()
            X = space.encode([suggest_config(trial, space)])
            study.tell(trial, float(acquisition(learner, X, "ucb", KAPPA, "maximize")[0]))

    return run


def contenders() -> dict[str, Callable[[SearchSpace, Tracker, int], None]]:
    """Name -> runner ``(space, tracked learner, seed)`` that runs until the budget."""
    from _ppo_variants import VARIANTS, PPOVariant

    import agents  # noqa: F401 - registers "ppo_then_local"
    import metarl.agents._optuna  # noqa: F401 - imported here, not on a run's clock

    out = {
        "surrogate_sampling": run_policy("surrogate_sampling", n_samples=10**12, chunk_size=1000),
        "evolution": run_policy("evolution", n_evaluations=10**12),
        "evolution_b200": run_policy(
            "evolution", n_evaluations=10**12, population_size=200, batch_size=200
        ),
        "local_search": run_policy("local_search"),
        # agents/local_search.py's hybrid: hill climbing from PPO's proposals
        "ppo_then_local": run_policy("ppo_then_local"),
        "smac_style": run_smac_style,
        "tpe": run_optuna("tpe"),
        "ppo": run_policy("ppo"),  # the library's PPOPolicy with its current defaults
        # a fixed budget: 50,000 steps every round, proposals sampled step by step (the
        # defaults before a76e040), with the timers of PPOVariant
        "ppo_fixed": run_policy("ppo_fixed", PPOVariant),
    }
    return out | {name: run_policy(name, PPOVariant, **kw) for name, kw in VARIANTS.items()}


# ---------------------------------------------------------------------------- runs
def fitted_learner(case_name: str, n: int, learner: str):
    case = CASES[case_name](n)
    X = case.space.encode(case.configs)
    model = make_learner(learner, random_state=0).fit(X, case.y)
    return case, model


def run_one(job: tuple) -> dict:
    """One (space, learner, optimizer, seed) run; returns its trace and diagnostics."""
    space, model, case_name, learner_name, opt, seed, max_evals, max_seconds = job
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    tracker = Tracker(model, max_evals, max_seconds)
    runner = contenders()[opt]
    with threadpool_limits(limits=1):
        tracker.restart()
        with contextlib.suppress(OutOfBudgetError):
            runner(space, tracker, seed)
    policy = getattr(runner, "policy", None)
    diag = getattr(policy, "diagnostics_", None)
    if diag is not None and policy.unfinished_round() is not None:
        diag = [*diag, policy.unfinished_round()]
    return {
        "space": case_name,
        "learner": learner_name,
        "optimizer": opt,
        "seed": seed,
        "trace": np.asarray(tracker.trace_),
        "best_x": tracker.best_x_,
        "max_seconds": max_seconds,
        "diag": diag,
    }


def checkpoints(trace: np.ndarray, max_evals: int, max_seconds: float) -> dict[str, float]:
    """Best UCB at each evaluation and CPU-time checkpoint (NaN: not reached, or past a
    time cap that stopped the run)."""
    out = {}
    total, cpu_end = trace[-1, 0], trace[-1, 1]
    evals_cap = total >= max_evals
    for b in EVAL_CHECKS:
        ok = trace[:, 0] <= b
        reached = total >= b or evals_cap
        out[f"@{b // 1000}k"] = trace[ok, 3][-1] if ok.any() and reached else np.nan
    for t in TIME_CHECKS:
        ok = trace[:, 1] <= t
        run = t <= max_seconds or evals_cap
        out[f"@{t:g}s"] = trace[ok, 3][-1] if ok.any() and run else np.nan
    out["evals"] = total
    out["cpu_s"] = cpu_end
    out["evals_per_s"] = total / max(cpu_end, 1e-9)
    return out


def print_table(rows: list[dict], space: str, learner: str) -> None:
    cols = [f"@{b // 1000}k" for b in EVAL_CHECKS] + [f"@{t:g}s" for t in TIME_CHECKS]
    print(f"\n== {space} ({learner}): best UCB (kappa {KAPPA:g}), mean (min) over seeds ==")
    print(f"{'optimizer':<20}" + "".join(f"{c:>15}" for c in cols) + f"{'evals/s':>10}")
    by_opt: dict[str, list[dict]] = {}
    for r in rows:
        if r["space"] == space and r["learner"] == learner:
            by_opt.setdefault(r["optimizer"], []).append(r)
    for opt, rs in by_opt.items():
        cells = []
        for c in cols:
            v = np.array([r[c] for r in rs], dtype=float)
            if np.isnan(v).all():
                cells.append(f"{'-':>15}")
            else:
                star = "" if not np.isnan(v).any() else "*"  # some seeds did not reach it
                cells.append(f"{np.nanmean(v):>7.3f} ({np.nanmin(v):.3f}){star:1}"[:15].rjust(15))
        rate = np.mean([r["evals_per_s"] for r in rs])
        print(f"{opt:<20}" + "".join(cells) + f"{rate:>10.3g}  ({len(rs)} seeds)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", default="digits,mlp,features")
    ap.add_argument("--optimizers", default="all", help="comma list, or 'all'")
    ap.add_argument("--learners", default="gp", help="comma list of learner names")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n-results", type=int, default=150, help="real results per space")
    ap.add_argument("--max-evals", type=int, default=EVAL_CHECKS[-1])
    ap.add_argument("--max-seconds", type=float, default=TIME_CHECKS[-1])
    ap.add_argument("--seeds-for", default="", help="per optimizer, e.g. ppo_warm=2")
    ap.add_argument("--seconds-for", default="", help="per-optimizer CPU cap, e.g. tpe=10")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (one thread each)")
    ap.add_argument("--out", default="/tmp/h_runs/bench_acq_optimizers.csv")
    ap.add_argument("--resume", action="store_true", help="skip the runs already in --out")
    ap.add_argument("--report", action="store_true", help="print the tables of --out, run nothing")
    ap.add_argument("--quick", action="store_true", help="tiny budgets: a smoke test")
    ap.add_argument(
        "--profile-ppo",
        metavar="SPACE",
        help="time --seeds rounds of each PPO in --optimizers (default: the library's)",
    )
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.max_evals, args.max_seconds = 1, 4_000, 3.0
    if args.profile_ppo:
        from _ppo_variants import profile_ppo

        case, model = fitted_learner(args.profile_ppo, args.n_results, args.learners.split(",")[0])
        names = ["ppo"] if args.optimizers == "all" else args.optimizers.split(",")
        profile_ppo(case.space, Tracker(model, 10**12, 10**9), names, rounds=args.seeds)
        return
    names = list(contenders()) if args.optimizers == "all" else args.optimizers.split(",")
    spaces, learners = args.spaces.split(","), args.learners.split(",")
    out = Path(args.out)
    if args.report:
        rows = _read_rows(out)
        for space_name in spaces:
            for learner_name in learners:
                print_table(rows, space_name, learner_name)
        return
    done = _read_rows(out) if args.resume else []
    have = {(r["space"], r["learner"], r["optimizer"], int(r["seed"])) for r in done}
    fitted = {}
    for space_name in spaces:
        for learner_name in learners:
            t = time.perf_counter()
            case, model = fitted_learner(space_name, args.n_results, learner_name)
            fitted[space_name, learner_name] = case.space, model
            print(
                f"{space_name}: 2**{np.log2(float(case.space.cardinality)):.1f} configs, "
                f"{learner_name} fitted on {len(case.y)} real results ({case.note}) in "
                f"{time.perf_counter() - t:.0f} s",
                flush=True,
            )
    seeds = {n: args.seeds for n in names} | _overrides(args.seeds_for, int)
    seconds = {n: args.max_seconds for n in names} | _overrides(args.seconds_for, float)
    # seed-major: an interrupted run still has every optimizer on the first seeds
    jobs = [
        (*fitted[sp, le], sp, le, opt, seed, args.max_evals, seconds[opt])
        for seed in range(args.seeds)
        for sp in spaces
        for le in learners
        for opt in names
        if seed < seeds[opt] and (sp, le, opt, seed) not in have
    ]
    if not done and out.exists():
        out.unlink()
    rows = list(done)
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        for res in pool.map(run_one, jobs):
            row = {k: res[k] for k in ("space", "learner", "optimizer", "seed")}
            row |= checkpoints(res["trace"], args.max_evals, res["max_seconds"])
            rows.append(row)
            _append_row(out, row, res["diag"])
            print(
                f"  {row['space']}/{row['optimizer']} seed {row['seed']}: best "
                f"{res['trace'][-1, 3]:.3f} after {row['evals']:.0f} evals, "
                f"{row['cpu_s']:.1f} CPU s",
                flush=True,
            )
    for space_name in spaces:
        for learner_name in learners:
            print_table(rows, space_name, learner_name)
    print(f"\nwrote {out} ({len(rows)} runs; per-round PPO diagnostics in {_diag_path(out)})")


def _overrides(text: str, kind: type) -> dict:
    """``"a=2,b=3"`` -> ``{"a": kind("2"), "b": kind("3")}``."""
    pairs = [p.split("=") for p in text.split(",") if p]
    return {name: kind(value) for name, value in pairs}


def _diag_path(out: Path) -> Path:
    return out.with_suffix(".diag.jsonl")


def _append_row(out: Path, row: dict, diag: list | None) -> None:
    """Append one run's checkpoints to the CSV (and its PPO diagnostics to the JSONL)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    with out.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
    if diag:
        keys = ("space", "learner", "optimizer", "seed")
        with _diag_path(out).open("a") as f:
            f.write(json.dumps({**{k: row[k] for k in keys}, "rounds": diag}) + "\n")


def _read_rows(out: Path) -> list[dict]:
    if not out.exists():
        return []
    with out.open() as f:
        rows = list(csv.DictReader(f))
    text = ("space", "learner", "optimizer")
    return [{k: v if k in text else float(v) for k, v in r.items()} for r in rows]


if __name__ == "__main__":
    main()
