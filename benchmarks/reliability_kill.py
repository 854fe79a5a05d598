"""kill -9 aimed at each multi-write transition of a study, then 25 at random moments; prints
what survived (issue 12's acceptance: 0 completed results lost, 0 studies blocked, 0 configs
completed twice, the budget exact, no trial left RUNNING).

    python benchmarks/reliability_kill.py                 # aimed kills, then bench_kill.py
    python benchmarks/reliability_kill.py --no-random     # aimed kills only

Aimed kills: a ``metarl run`` child replaces one storage write (or checkpoint rename) with
SIGKILL to its own process group at its N-th call, before or after the write: so the kill
lands exactly between two writes of a transition (study creation, lease, enqueue, claim,
tell, stale recovery, checkpoint, round record). Plain ``metarl run`` processes then resume
the study until it completes. Random kills: ``benchmarks/bench_kill.py`` (25 kills of
``metarl run`` at random moments, with the process executor).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# the random campaign's study (space, storage reads, survival counts) is the aimed one's too
from bench_kill import SPACE, remember_completed, snapshot, survival

ROOT = Path(__file__).resolve().parents[1]
RUN = (
    "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
    "learner: forest\npolicy: exhaustive\nbudget: {budget}\nbatch_size: 4\nn_init: 4\n"
    "storage: sqlite:///k.db\nheartbeat_interval: 1\ngrace_period: 3\nstudy_name: k\n"
    "executor: thread\nn_workers: 2\n"
)

#: target -> (where, kill before or after the write, which calls count, N)
#: ``where`` is "module:attribute.method"; the predicate sees the call's arguments.
TARGETS: dict[str, tuple[str, str, Callable[..., bool], int]] = {}


def _target(name: str, where: str, when: str, hit: int, pred: Callable[..., bool]) -> None:
    TARGETS[name] = (where, when, pred, hit)


def _state_is(name: str) -> Callable[..., bool]:
    return lambda self, trial_id, state, *a, **k: state.name == name


def _key_is(test: Callable[[str], bool]) -> Callable[..., bool]:
    return lambda self, trial_or_study_id, key, *a, **k: test(key)


def _creation(self, key: str, value: object) -> bool:
    return not key.startswith(("metarl:budget", "metarl:round:"))


_STUDY_ATTR = "optuna.study:Study.set_user_attr"
_TRIAL_STATE = "optuna.storages:RDBStorage.set_trial_state_values"
_TRIAL_ATTR = "optuna.storages:RDBStorage.set_trial_user_attr"
for _k in range(1, 6):  # space, metric, settings, trainer, fingerprint
    _target(f"creation, before attribute {_k}/5", _STUDY_ATTR, "before", _k, _creation)
_target("lease taken, nothing proposed yet", "metarl.study._lease:_RDBCell.swap", "after", 1,
        lambda self, old, new: True)  # fmt: skip
_target("enqueue, 1 of 4 proposals stored", "optuna.storages:RDBStorage._create_new_trial",
        "before", 6, lambda *a, **k: True)  # fmt: skip
_target("claim, heartbeat recorded, not RUNNING", _TRIAL_STATE, "before", 3, _state_is("RUNNING"))
_target("claim, RUNNING, worker not recorded", _TRIAL_STATE, "after", 3, _state_is("RUNNING"))
_target("tell, between two metrics", _TRIAL_ATTR, "before", 3, _key_is(lambda k: k == "train_time"))
_target("tell, metrics stored, state not", _TRIAL_STATE, "before", 3, _state_is("COMPLETE"))
_target("tell, COMPLETE stored", _TRIAL_STATE, "after", 5, _state_is("COMPLETE"))
_target("checkpoint, written, not renamed", "os:replace", "before", 1,
        lambda src, dst: ".tmp" in str(src))  # fmt: skip
_target("round record", _STUDY_ATTR, "before", 2,
        lambda self, key, value: key.startswith("metarl:round:"))  # fmt: skip
#: stale recovery needs a stale trial: these run after a kill that leaves trials RUNNING
STALE = "tell, metrics stored, state not"
_target("recovery, before the reason", _TRIAL_ATTR, "before", 1,
        _key_is(lambda k: k == "metarl:error"))  # fmt: skip
_target("recovery, reason stored, not FAIL", _TRIAL_STATE, "before", 1, _state_is("FAIL"))
_target("recovery, FAIL stored, no copy", "metarl.study._storage:_requeue", "before", 1,
        lambda *a, **k: True)  # fmt: skip


def _die() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def child(name: str) -> None:
    """Run ``metarl run`` with the kill of ``name`` in place."""
    import importlib

    where, when, pred, hit = TARGETS[name]
    module, _, attr = where.partition(":")
    owner_name, _, method = attr.rpartition(".")
    owner = importlib.import_module(module)
    if owner_name:
        owner = getattr(owner, owner_name)
    original = getattr(owner, method)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        if pred(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == hit and when == "before":
                _die()
            out = original(*args, **kwargs)
            if calls["n"] == hit and (when != "after" or out is not False):
                _die()
            return out
        return original(*args, **kwargs)

    setattr(owner, method, wrapper)
    from metarl.cli import main

    sys.exit(main(["run", "run.yaml", "--no-progress"]))


def scenario(name: str, budget: int) -> dict:
    from metarl.study._storage import counts

    work = Path(tempfile.mkdtemp(prefix="metarl-aimed-"))
    (work / "space.yaml").write_text(SPACE)
    (work / "run.yaml").write_text(RUN.format(budget=budget))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METARL_TEST_DELAY": "0.1"}
    me = [sys.executable, __file__, "--child"]
    plain = [sys.executable, "-m", "metarl.cli", "run", "run.yaml", "--no-progress"]
    seen: dict[int, float] = {}
    steps = [STALE, name] if name.startswith("recovery") else [name]
    landed = []
    for step in steps:
        p = subprocess.run([*me, step], cwd=work, env=env, start_new_session=True,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
        landed.append(p.returncode == -signal.SIGKILL)
        remember_completed(snapshot(work / "k.db"), seen)
    resumes = []
    for _ in range(2):  # a resume may find nothing to do but wait for stale trials
        r = subprocess.run(plain, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        resumes.append(r.returncode)
        if r.returncode != 0:
            resumes.append((r.stderr.strip().splitlines() or ["?"])[-1])
            break
        if counts(snapshot(work / "k.db"))["done"] >= budget:
            break
    return {
        "landed": all(landed),
        "blocked": any(r != 0 for r in resumes if isinstance(r, int)),
        "resumes": resumes,
        **survival(snapshot(work / "k.db"), seen),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=12, help="evaluations of each aimed study")
    ap.add_argument("--no-random", action="store_true", help="skip bench_kill.py's campaign")
    ap.add_argument("--random-budget", type=int, default=90, help="bench_kill.py's budget")
    ap.add_argument("--only", help="aimed kills whose name contains this text")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        child(args.child)
        return
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"aimed kills (budget {args.budget} each):")
    print(f"  {'transition':<42} landed blocked lost twice RUNNING orphans done/budget")
    bad = 0
    t0 = time.perf_counter()
    names = [n for n in TARGETS if args.only is None or args.only in n]
    for name in names:
        r = scenario(name, args.budget)
        ok = r["landed"] and not r["blocked"] and r["done"] == args.budget
        ok = ok and not (r["lost"] or r["twice"] or r["running"] or r["orphans"] or r["pending"])
        bad += not ok
        print(
            f"  {name:<42} {'yes' if r['landed'] else 'NO':>6} {r['blocked']!s:>7} "
            f"{r['lost']:4d} {r['twice']:5d} {r['running']:7d} {r['orphans']:7d} "
            f"{r['done']:4d}/{args.budget}{'' if ok else '  <- ' + str(r['resumes'])}"
        )
    seconds = time.perf_counter() - t0
    print(f"aimed: {len(names) - bad}/{len(names)} transitions survived ({seconds:.0f} s)")
    if not args.no_random:
        print(f"random kills (benchmarks/bench_kill.py --kills 25 --budget {args.random_budget}):")
        cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_kill.py"), "--kills", "25"]
        out = subprocess.run([*cmd, "--budget", str(args.random_budget)], capture_output=True,
                             text=True, cwd=ROOT)  # fmt: skip
        for line in (out.stdout + out.stderr).strip().splitlines():
            print(f"  {line}")


if __name__ == "__main__":
    main()
