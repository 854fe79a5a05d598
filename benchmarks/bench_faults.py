"""A faulty trainer under each executor with default settings; prints what the study stored.

    python benchmarks/bench_faults.py                    # process, thread, dask; budget 40
    python benchmarks/bench_faults.py --executors thread --budget 20

The trainer raises on 10 % of configs, returns NaN on 5 % and hangs (sleeps an hour) on 5 %.
Each executor runs in a fresh ``python`` process with ``Study``'s defaults (no ``timeout``:
the executor's ``AutoTimeout`` applies). Per executor it prints whether the budget completed,
whether the process exited and how long it took, and the stored failures by reason: every
hung call must be a FAIL whose reason says it timed out.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAINER = "benchmarks.bench_faults:faulty"


def _space():
    from metarl.space import Categorical, Float, Integer, SearchSpace

    return SearchSpace(
        {
            "x": Float(-2.0, 2.0, bins=17),
            "n": Integer(1, 8),
            "opt": Categorical(["sgd", "adam", "rmsprop"], ordered=False),
        }
    )


def faulty(config: dict) -> dict:
    """A quadratic whose config hash decides a fault: 10 % raise, 5 % NaN, 5 % hang."""
    key = repr(sorted(config.items())).encode()
    u = int(hashlib.sha256(key).hexdigest()[:8], 16) / 16**8
    if u < 0.10:
        raise RuntimeError("diverged (injected fault)")
    if u < 0.15:
        return {"loss": math.nan}
    if u < 0.20:
        time.sleep(3600)
    loss = (config["x"] - 0.5) ** 2 + 0.1 * (config["n"] - 3) ** 2
    return {"loss": loss + (0.2 if config["opt"] == "sgd" else 0.0)}


def run_one(executor: str, db: str, budget: int) -> None:
    """The child process: one study with default settings."""
    import optuna

    from metarl.study import Study
    from metarl.trainers import TrainerSpec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = Study(
        _space(),
        TrainerSpec("import", TRAINER),
        metric="loss",
        storage=f"sqlite:///{db}",
        study_name=executor,
        executor=executor,
    )
    study.optimize(budget)


def report(executor: str, db: str, budget: int, code: int | None, seconds: float) -> None:
    import optuna
    from optuna.trial import TrialState

    from metarl.study._storage import counts, failure_reasons, open_storage

    study = optuna.load_study(study_name=executor, storage=open_storage(f"sqlite:///{db}"))
    trials = study.get_trials(deepcopy=False)
    c = counts(trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    exited = (
        "exit 0" if code == 0 else ("still running (killed)" if code is None else f"exit {code}")
    )
    print(
        f"{executor:<8} done {c['done']}/{budget} ({c['complete']} complete, {c['failed']} "
        f"failed, {running} left RUNNING); {exited} after {seconds:.0f} s"
    )
    for reason, n in failure_reasons(trials, width=100):
        print(f"{'':<8} {n:4d}  {reason}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--executors", nargs="+", default=["process", "thread", "dask"])
    ap.add_argument("--budget", type=int, default=40, help="evaluations per study")
    ap.add_argument("--limit", type=float, default=1200, help="seconds before a run is killed")
    ap.add_argument("--one", nargs=2, metavar=("EXECUTOR", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(args.one[0], args.one[1], args.budget)
        return
    folder = Path(tempfile.mkdtemp(prefix="metarl-faults-"))
    for executor in args.executors:
        db = str(folder / f"{executor}.db")
        cmd = [sys.executable, __file__, "--one", executor, db, "--budget", str(args.budget)]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            code: int | None = p.wait(timeout=args.limit)
        except subprocess.TimeoutExpired:
            p.kill()
            code = None
        report(executor, db, args.budget, code, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
