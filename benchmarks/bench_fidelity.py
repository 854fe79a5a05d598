"""Multi-fidelity refinement (issue 15, part 1) at equal trainer seconds, on real training.

Methods, each given the same budget of trainer seconds per (task, seed):

- ``metarl_fidelity``: ``Study`` on the trainer's space *with* its Fidelity: the loop chooses
  each proposal's fidelity by expected gain per predicted second and promotes promising
  configs to full fidelity (``metarl.loop._fidelity``); on ``mlp_epochs`` the trainer
  continues a config from its checkpoint of fewer epochs (``TorchMLPTrainer``'s default), and
  the loop prices raises accordingly;
- ``metarl_fidelity_nocont``: the same with ``continue_training=False`` (every call trains
  from scratch; on the subsample tasks it is ``metarl_fidelity``, nothing continues there);
- ``metarl_fidelity_ladder``: ``metarl_fidelity`` with ``Study(fidelity_start="auto")``: with
  a continuing trainer (``mlp_epochs``) a config never evaluated starts below full fidelity
  and reaches it by raises; elsewhere it is ``metarl_fidelity``;
- ``metarl_full``: the same ``Study`` on the same space without the fidelity (every trial at
  full fidelity): metarl's default;
- ``tpe_hyperband``: Optuna's ``TPESampler`` with its ``HyperbandPruner``
  (``reduction_factor=3``), the trainer reporting an intermediate value per fidelity step:
  per epoch for ``mlp_epochs`` (one training run, pruned between epochs), per subsample level
  for the subsample tasks (each level a new fit on more rows, as a data-size fidelity is).

Tasks (all really train; data bundled with scikit-learn or synthetic, nothing downloaded):

- ``digits_subsample``: ``SklearnTrainer("digits", cv=5, min_subsample=0.05)``: feature
  Subset x {logreg, svm, hgb, knn} x hyperparameters, 5-fold CV accuracy; fidelity: the
  training-subsample fraction (levels 0.05, 0.14, 0.37, 1);
- ``mlp_epochs``: ``TorchMLPTrainer(fidelity="epochs", max_epochs=20)``: depth, width,
  activation, dropout, lr, batch size; fidelity: epochs (levels 1, 3, 7, 20);
- ``mlp_subsample``: ``TorchMLPTrainer(fidelity="subsample", min_subsample=0.1)``: the same
  plus epochs (1-20) as a hyperparameter; fidelity: the training-subsample fraction;
- ``mlp_epochs_synthetic``: ``mlp_epochs`` on ``TorchMLPTrainer(dataset="synthetic")``
  (scikit-learn's ``make_classification``, fixed seed: 2000 x 40, 6 classes, 5% of labels
  flipped; ~2.5 s per full training here, val_acc ~0.5-0.75: headroom digits lacks).

Each method runs until its trainer seconds (wall time of the trainer calls, timed the same way
for all methods) exceed ``--budget-s``. The figure is the best *full-fidelity* value (held-out
accuracy) reached vs cumulative trainer seconds, averaged over seeds, and the trainer seconds
``metarl_fidelity`` and ``tpe_hyperband`` need to reach ``metarl_full``'s final value. Runs
are appended to ``--out`` seed by seed.

    nice -n 5 python benchmarks/bench_fidelity.py --seeds 10 --budget-s 30 --max-minutes 70
    python benchmarks/bench_fidelity.py --report --out /tmp/bench_fidelity
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

METHODS = (
    "metarl_fidelity", "metarl_fidelity_nocont", "metarl_full", "tpe_hyperband",
    "metarl_fidelity_ladder",
)  # fmt: skip
TASKS = ("digits_subsample", "mlp_epochs", "mlp_subsample", "mlp_epochs_synthetic")
FRACTIONS = (0.25, 0.5, 1.0)  # of the budget, where the table reads the curves
FIELDS = [
    "task", "seed", "method", "budget_s", "n_trials", "n_full", "n_continued", "curve", "wall_s",
]  # fmt: skip


def make_trainer(task: str, seed: int, continuation: bool = False) -> tuple[Any, str]:
    """The task's trainer (seeded) and the name of its fidelity; ``continuation``: the epochs
    trainer continues configs from their checkpoints."""
    from metarl.trainers import SklearnTrainer, TorchMLPTrainer

    if task == "digits_subsample":
        return SklearnTrainer("digits", cv=5, seed=seed, min_subsample=0.05), "subsample"
    if task == "mlp_epochs":
        trainer = TorchMLPTrainer(
            seed=seed, fidelity="epochs", max_epochs=20, continue_training=continuation
        )
        return trainer, "epochs"
    if task == "mlp_subsample":
        return TorchMLPTrainer(seed=seed, fidelity="subsample", min_subsample=0.1), "subsample"
    if task == "mlp_epochs_synthetic":
        trainer = TorchMLPTrainer(
            seed=seed, fidelity="epochs", max_epochs=20, continue_training=continuation,
            dataset="synthetic",
        )  # fmt: skip
        return trainer, "epochs"
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")


class Clock:
    """Times every trainer call and keeps (cumulative seconds, value, at full fidelity)."""

    def __init__(self, trainer: Any, fidelity: str, budget_s: float) -> None:
        self.trainer, self.fidelity, self.budget_s = trainer, fidelity, budget_s
        self.full = trainer.space.params[fidelity].full
        self.spent = 0.0
        self.events: list[tuple[float, float, bool]] = []
        self.n_continued = 0

    def __call__(self, config: dict, **kw: Any) -> dict:
        start = time.perf_counter()
        out = self.trainer(config, **kw)
        self.spent += time.perf_counter() - start
        full = np.isclose(config.get(self.fidelity, self.full), self.full)
        self.events.append((self.spent, out[self.trainer.metric], bool(full)))
        self.n_continued += int(out.get("metarl:continued_from", 0) > 0)
        return out

    @property
    def over(self) -> bool:
        return self.spent >= self.budget_s

    def curve(self) -> list[tuple[float, float]]:
        """(seconds, best full-fidelity value so far) at each full-fidelity improvement."""
        best, out = -np.inf, []
        for s, v, full in self.events:
            if full and v > best:
                best = v
                out.append((round(s, 3), round(float(v), 5)))
        return out


def without(space: Any, name: str) -> Any:
    """``space`` without the parameter ``name`` (the full-fidelity search space)."""
    from metarl.space import SearchSpace

    params = {n: p for n, p in space.params.items() if n != name}
    return SearchSpace(params, space.context, space.context_values)


def run_metarl(clock: Clock, seed: int, fidelity: bool, start: str | None = None) -> None:
    from metarl import Study

    space = clock.trainer.space
    if fidelity:
        trainer: Callable[[dict], dict] = clock
    else:
        space = without(space, clock.fidelity)
        full = {clock.fidelity: clock.full}

        def trainer(config: dict) -> dict:
            return clock(config | full)

    study = Study(
        space, trainer, metric=clock.trainer.metric, direction="maximize", executor="thread",
        n_workers=1, batch_size=5, seed=seed, max_consecutive_failures=None,
        fidelity_start=start if fidelity else None,
    )  # fmt: skip
    study._console.say = lambda *a, **k: None  # the direction line, once per run
    study.optimize(100_000, callbacks=[lambda s, r: not clock.over])


def run_tpe_hyperband(clock: Clock, seed: int) -> None:
    import optuna

    from metarl.agents._optuna import suggest_config

    space = without(clock.trainer.space, clock.fidelity)
    levels = clock.trainer.space.params[clock.fidelity].levels()
    per_epoch = clock.fidelity == "epochs"
    max_resource = int(clock.full) if per_epoch else len(levels)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_resource, reduction_factor=3
        ),
    )

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space)
        if per_epoch:
            pruned = []

            def on_epoch(epoch: int, metrics: dict) -> bool:
                trial.report(metrics["val_acc"], epoch)
                pruned.append(epoch < clock.full and trial.should_prune())
                return not pruned[-1]

            out = clock(config | {"epochs": int(clock.full)}, on_epoch=on_epoch)
            if pruned and pruned[-1]:  # stopped before the last epoch: not a full result
                seconds, value, _ = clock.events[-1]
                clock.events[-1] = (seconds, value, False)
                raise optuna.TrialPruned()
            return out["val_acc"]
        for step, level in enumerate(levels, start=1):
            value = clock(config | {clock.fidelity: float(level)})[clock.trainer.metric]
            trial.report(value, step)
            if step < len(levels) and trial.should_prune():
                raise optuna.TrialPruned()
        return value

    def stop(study: optuna.Study, _: Any) -> None:
        if clock.over:
            study.stop()

    study.optimize(objective, n_trials=100_000, callbacks=[stop])


def run_one(task: str, seed: int, method: str, budget_s: float) -> dict:
    continuation = method in ("metarl_fidelity", "metarl_fidelity_ladder")
    trainer, fidelity = make_trainer(task, seed, continuation=continuation)
    clock = Clock(trainer, fidelity, budget_s)
    t0 = time.perf_counter()
    if method == "tpe_hyperband":
        run_tpe_hyperband(clock, seed)
    else:
        start = "auto" if method == "metarl_fidelity_ladder" else None
        run_metarl(clock, seed, fidelity=method.startswith("metarl_fidelity"), start=start)
    return {
        "task": task,
        "seed": seed,
        "method": method,
        "budget_s": budget_s,
        "n_trials": len(clock.events),
        "n_full": sum(full for *_, full in clock.events),
        "n_continued": clock.n_continued,
        "curve": json.dumps(clock.curve()),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def best_at(curve: list, seconds: float) -> float:
    """The best full-fidelity value reached within ``seconds`` (NaN before the first)."""
    vals = [v for s, v in curve if s <= seconds]
    return max(vals) if vals else np.nan


def time_to(curve: list, target: float) -> float:
    """Trainer seconds until the best full-fidelity value reached ``target`` (inf: never)."""
    return next((s for s, v in curve if v >= target - 1e-12), np.inf)


def read_runs(out: Path) -> list[dict]:
    path = out / "runs.csv"
    if not path.exists():
        return []
    with path.open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["seed"], r["budget_s"] = int(r["seed"]), float(r["budget_s"])
        r["curve"] = json.loads(r["curve"])
    return rows


def report(runs: list[dict], out: Path) -> None:
    """Print the table and write ``fidelity.png``."""
    for task in TASKS:
        rows = [r for r in runs if r["task"] == task]
        if not rows:
            continue
        budget = rows[0]["budget_s"]
        seeds = sorted({r["seed"] for r in rows if r["method"] == "metarl_full"})
        by = {(r["method"], r["seed"]): r for r in rows}
        print(f"\n{task}: best full-fidelity val_acc vs trainer seconds ({len(seeds)} seeds)")
        head = "".join(f"  @{f * budget:5.1f}s     " for f in FRACTIONS)
        print(f"  {'method':<24}{head}  trials  full   to reach metarl_full's final (s)")
        for m in METHODS:
            got = [by[(m, s)] for s in seeds if (m, s) in by]
            if not got:
                continue
            at = [[best_at(r["curve"], f * budget) for r in got] for f in FRACTIONS]
            cells = "".join(_cell(v) for v in at)
            reach = [
                time_to(by[(m, s)]["curve"], best_at(by[("metarl_full", s)]["curve"], budget))
                for s in seeds
                if (m, s) in by
            ]
            done = [t for t in reach if np.isfinite(t)]
            med = (
                f"median {np.median(done):5.1f} ({len(done)}/{len(reach)} reach)"
                if done
                else "never"
            )
            trials = np.mean([int(r["n_trials"]) for r in got])
            full = np.mean([int(r["n_full"]) for r in got])
            print(f"  {m:<24}{cells}  {trials:6.0f} {full:5.0f}   {med}")
        _paired(by, seeds, budget)
    _plot(runs, out / "fidelity.png")


def _paired(by: dict, seeds: list[int], budget: float) -> None:
    """Per seed, ``metarl_fidelity`` (and ``metarl_fidelity_ladder``) against each other
    method at each budget: wins/losses/ties of the best full-fidelity value (no full result
    yet: a loss; neither has one: a tie)."""
    pairs = [("metarl_fidelity", m) for m in METHODS[1:]] + [
        ("metarl_fidelity_ladder", m) for m in METHODS[1:-1] if m != "metarl_fidelity_nocont"
    ]
    for base, other in pairs:
        both = [s for s in seeds if (base, s) in by and (other, s) in by]
        if not both:
            continue
        cells = []
        for f in FRACTIONS:
            a = np.array([best_at(by[(base, s)]["curve"], f * budget) for s in both])
            b = np.array([best_at(by[(other, s)]["curve"], f * budget) for s in both])
            a, b = np.nan_to_num(a, nan=-np.inf), np.nan_to_num(b, nan=-np.inf)
            cells.append(f"@{f * budget:.1f}s {int((a > b).sum())}/{int((a < b).sum())}/"
                         f"{int((a == b).sum())}")  # fmt: skip
        print(f"  {base} vs {other:<22} (wins/losses/ties) " + "  ".join(cells))


def _cell(values: list[float]) -> str:
    """The mean over the seeds with a full-fidelity result by then, and ``k/n`` when some
    had none."""
    v = np.asarray(values, dtype=float)
    k = int(np.isfinite(v).sum())
    if k == 0:
        return f"  {'-':>12}"
    tail = "" if k == len(v) else f"({k}/{len(v)})"
    return f"  {np.nanmean(v):7.4f}{tail:>5}"


def _plot(runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TASKS), figsize=(5 * len(TASKS), 4))
    for ax, task in zip(axes, TASKS):
        rows = [r for r in runs if r["task"] == task]
        if not rows:
            continue
        grid = np.linspace(0, rows[0]["budget_s"], 61)
        for m in METHODS:
            curves = [r["curve"] for r in rows if r["method"] == m]
            if curves:
                Y = np.array([[best_at(c, s) for s in grid] for c in curves])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN early columns
                    ax.plot(grid, np.nanmean(Y, axis=0), label=f"{m} ({len(curves)} seeds)")
        ax.set(title=task, xlabel="cumulative trainer seconds", ylabel="best full-fidelity val_acc")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nplot: {path}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--budget-s", type=float, default=30.0)
    ap.add_argument("--max-minutes", type=float, default=None, help="start no seed after this")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_fidelity"))
    ap.add_argument("--report", action="store_true", help="only report --out's runs")
    args = ap.parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    tasks, methods = args.tasks.split(","), args.methods.split(",")
    for name in tasks:
        if name not in TASKS:
            raise SystemExit(f"--tasks: unknown task {name!r}; valid: {', '.join(TASKS)}")
    for name in methods:
        if name not in METHODS:
            raise SystemExit(f"--methods: unknown method {name!r}; valid: {', '.join(METHODS)}")
    start = time.perf_counter()
    if not args.report:
        path = args.out / "runs.csv"
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            if args.max_minutes and time.perf_counter() - start > 60 * args.max_minutes:
                print(f"--max-minutes reached: stopped before seed {seed}")
                break
            for task in tasks:
                for method in methods:
                    row = run_one(task, seed, method, args.budget_s)
                    new = not path.exists()
                    with path.open("a", newline="") as f:
                        w = csv.DictWriter(f, FIELDS)
                        if new:
                            w.writeheader()
                        w.writerow(row)
                    curve = json.loads(row["curve"])
                    best = curve[-1][1] if curve else None
                    print(
                        f"seed {seed} {task:<17} {method:<16} trials {row['n_trials']:4d} "
                        f"(full {row['n_full']:3d})  best {best}  wall {row['wall_s']}s",
                        flush=True,
                    )
    report(read_runs(args.out), args.out)


if __name__ == "__main__":
    main()
