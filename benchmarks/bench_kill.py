"""kill -9 campaign: ``metarl run`` killed at random moments, then resumed; prints what survived.

    python benchmarks/bench_kill.py                  # 25 kills, budget 60
    python benchmarks/bench_kill.py --kills 5 --budget 20

Each round starts ``metarl run`` (process executor, 2 workers, a 0.2 s trainer) and kills its
whole process group with SIGKILL at a random moment (seeded): 30 % during start-up (creation,
first proposals; up to ``--max-delay`` s after launch), the others up to 4 s after its first
trainer call (claims, tells, stale recovery, proposals, checkpoints). A final
run completes the study. Printed: kills that landed, whether any resume was refused (a blocked
study), completed results lost (a COMPLETE trial seen after a kill and gone or changed at the
end), configs completed twice, trials left RUNNING, lost evaluations without a re-queued copy,
and whether the budget was honoured exactly.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPACE = (
    "x: {type: float, low: -2.0, high: 2.0, bins: 17}\n"
    "n: {type: integer, low: 1, high: 6}\n"
    "opt: {type: categorical, choices: [sgd, adam]}\n"
    "momentum: {type: float, low: 0.0, high: 0.9, bins: 4, active_if: {opt: [sgd]}}\n"
)
RUN = (
    "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
    "learner: forest\npolicy: random\nbudget: {budget}\nbatch_size: 4\nn_init: 4\n"
    "storage: sqlite:///k.db\nheartbeat_interval: 1\ngrace_period: 3\nstudy_name: k\n"
    "executor: process\nn_workers: 2\n"
)


def snapshot(db: Path) -> list:
    import optuna

    from metarl.study._storage import open_storage

    if not db.exists():
        return []
    try:
        return optuna.load_study(study_name="k", storage=open_storage(f"sqlite:///{db}")).trials
    except KeyError:
        return []


def remember_completed(trials: list, seen: dict[int, float]) -> None:
    """Add each COMPLETE trial's value to ``seen`` (number -> value), keeping the first seen."""
    from optuna.trial import TrialState

    for t in trials:
        if t.state == TrialState.COMPLETE:
            seen.setdefault(t.number, t.value)


def survival(trials: list, seen: dict[int, float]) -> dict[str, int]:
    """What a killed-and-resumed study kept: completed results ``lost`` (seen, then gone or
    changed), configs completed ``twice``, trials left ``running``, lost evaluations without
    a re-queued copy (``orphans``), and the storage's counts (``done``, ``pending``, ...)."""
    from optuna.trial import TrialState

    from metarl.study._schema import REQUEUE_OF, is_lost
    from metarl.study._storage import counts

    by_number = {t.number: t for t in trials}
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    keys = [tuple(sorted(t.params.items())) for t in done]
    copied = {t.user_attrs[REQUEUE_OF] for t in trials if REQUEUE_OF in t.user_attrs}
    return {
        "lost": sum(
            n not in by_number
            or by_number[n].state != TrialState.COMPLETE
            or by_number[n].value != v
            for n, v in seen.items()
        ),
        "twice": len(keys) - len(set(keys)),
        "running": sum(t.state == TrialState.RUNNING for t in trials),
        "orphans": sum(
            t.state == TrialState.FAIL and is_lost(t.user_attrs) and t.number not in copied
            for t in trials
        ),
        **counts(trials),
    }


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=25, help="kill -9 rounds")
    ap.add_argument("--budget", type=int, default=60, help="evaluations of the study")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill delays")
    ap.add_argument("--early", type=float, default=0.3, help="share of kills at start-up")
    ap.add_argument("--max-delay", type=float, default=15.0, help="longest start-up delay (s)")
    args = ap.parse_args()

    import optuna

    from metarl.study._storage import counts

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="metarl-kill-"))
    (work / "space.yaml").write_text(SPACE)
    (work / "run.yaml").write_text(RUN.format(budget=args.budget))
    db = work / "k.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METARL_TEST_DELAY": "0.2"}
    log = work / "calls.log"
    env["METARL_TEST_LOG"] = str(log)
    cmd = [sys.executable, "-m", "metarl.cli", "run", "run.yaml", "--no-progress"]
    seen: dict[int, float] = {}  # COMPLETE trial number -> value, as seen after each kill
    landed = refused = 0
    refusals: list[str] = []
    t0 = time.perf_counter()
    for _ in range(args.kills):
        p = subprocess.Popen(
            cmd,
            env=env,
            cwd=work,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if rng.random() < args.early:  # start-up, creation, the first proposals
                code = p.wait(timeout=float(rng.uniform(0.3, args.max_delay)))
            else:  # once it evaluates: claims, tells, stale recovery, checkpoints
                n0 = _lines(log)
                while p.poll() is None and _lines(log) == n0:
                    time.sleep(0.05)
                code = p.wait(timeout=float(rng.uniform(0.0, 4.0)))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)  # the run and its pool processes
            p.wait()
            landed += 1
        else:
            if code != 0:
                refused += 1
                refusals.append((p.stderr.read().strip().splitlines() or ["?"])[-1])
            elif counts(snapshot(db))["done"] >= args.budget:
                break  # finished before the kill
        remember_completed(snapshot(db), seen)
    final = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True, timeout=600)
    c = survival(snapshot(db), seen)
    calls = _lines(log)
    print(
        f"kills landed {landed}/{args.kills}; resumes refused {refused}; final run exit "
        f"{final.returncode} ({time.perf_counter() - t0:.0f} s in all)"
    )
    for line in sorted(set(refusals)) + ([final.stderr.strip()] if final.returncode else []):
        print(f"  refused: {line}")
    print(
        f"completed results lost {c['lost']} (of {len(seen)} seen); configs completed twice "
        f"{c['twice']}; left RUNNING {c['running']}; lost without a copy {c['orphans']}"
    )
    print(
        f"budget {args.budget}: done {c['done']} ({c['complete']} complete, {c['failed']} "
        f"failed), pending {c['pending']}; trainer calls {calls} (re-runs of killed calls "
        f"{calls - c['done']})"
    )


if __name__ == "__main__":
    main()
