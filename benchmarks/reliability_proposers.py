"""Four ``metarl run`` processes and four ``metarl worker``s on one study; prints what the
study stored (issue 12: two proposers must not duplicate work).

    python benchmarks/reliability_proposers.py                 # SQLite, and PostgreSQL
    python benchmarks/reliability_proposers.py --budget 24 --backends sqlite

Per storage: four ``metarl run`` processes start at once on the same YAML (one takes the
study's proposer lease, the others evaluate its trials), four ``metarl worker``s join once
the study exists, and the lease holder is killed with SIGKILL after a third of the budget,
so that another run takes the lease over. PostgreSQL runs on a throw-away server on
127.0.0.1 (``initdb``/``pg_ctl`` on PATH and the postgres extra), else it is skipped with
the reason. Printed: exit codes, trials by state (none may be left RUNNING), configs
completed twice (must be 0), trainer calls and the calls repeated (the killed holder's
calls in flight are evaluated again, by design), and the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = """space:
  x: {{type: float, low: -2.0, high: 2.0, bins: 17}}
  n: {{type: integer, low: 1, high: 6}}
  opt: {{type: categorical, choices: [sgd, adam]}}
  momentum: {{type: float, low: 0.0, high: 0.9, bins: 4, active_if: {{opt: [sgd]}}}}
trainer: 'tests.study._trainers:quadratic'
metric: loss
learner: forest
policy: random
budget: {budget}
batch_size: 6
n_init: 6
storage: {url}
study_name: p
heartbeat_interval: 1
grace_period: 4
executor: thread
n_workers: 1
"""


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _holder_pid(url: str) -> int | None:
    import optuna

    from metarl.study._lease import KEY
    from metarl.study._storage import open_storage

    try:
        st = open_storage(url)
        sid = st.get_study_id_from_name("p")
    except (KeyError, ValueError, optuna.exceptions.StorageInternalError):
        return None
    owner = st.get_study_system_attrs(sid).get(KEY, {}).get("owner")
    return int(owner.split(":")[1]) if owner else None


def campaign(url: str, budget: int, work: Path) -> None:
    import optuna
    from optuna.trial import TrialState

    from metarl.study._storage import counts, failure_reasons, open_storage

    (work / "run.yaml").write_text(RUN.format(budget=budget, url=url))
    log = work / "calls.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METARL_TEST_LOG": str(log)}
    env["METARL_TEST_DELAY"] = "0.1"
    mrl = [sys.executable, "-m", "metarl.cli"]
    quiet = {"cwd": work, "env": env, "start_new_session": True, "stdout": subprocess.DEVNULL}
    t0 = time.perf_counter()
    runs = [
        subprocess.Popen(
            [*mrl, "run", "run.yaml", "--no-progress"], **quiet, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    while _holder_pid(url) is None and time.perf_counter() - t0 < 300:
        time.sleep(0.2)
    worker = [*mrl, "worker", "--storage", url, "--study", "p", "--idle-timeout", "20"]
    workers = [subprocess.Popen(worker, **quiet, stderr=subprocess.PIPE) for _ in range(4)]
    killed = None
    while len(_lines(log)) < budget // 3 and time.perf_counter() - t0 < 300:
        time.sleep(0.1)
    pid = _holder_pid(url)
    for p in runs:
        if p.pid == pid:
            os.killpg(p.pid, signal.SIGKILL)
            killed = p
    codes = []
    for p in runs + workers:
        try:
            codes.append(p.wait(timeout=600))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            codes.append("hung")
    seconds = time.perf_counter() - t0
    trials = optuna.load_study(study_name="p", storage=open_storage(url)).get_trials()
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    keys = [json.dumps(t.params, sort_keys=True) for t in done]
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    calls = _lines(log)
    c = counts(trials)
    print(
        f"  exit codes: runs {codes[:4]} (killed holder: "
        f"{'run ' + str(runs.index(killed)) if killed else 'none found'}), workers {codes[4:]}; "
        f"{seconds:.0f} s"
    )
    print(f"  trials by state {states}; left RUNNING {states.get('RUNNING', 0)}")
    print(
        f"  budget {budget}: done {c['done']} ({c['complete']} complete, {c['failed']} failed), "
        f"pending {c['pending']}; configs completed twice {len(keys) - len(set(keys))}"
    )
    print(
        f"  trainer calls {len(calls)}, distinct configs called {len(set(calls))} "
        f"(calls repeated {len(calls) - len(set(calls))}: the killed holder's calls in flight)"
    )
    for reason, n in failure_reasons(trials, width=100):
        print(f"  failed {n}x: {reason}")
    for p in runs + workers:
        if p is not killed and p.returncode not in (0, None):
            err = p.stderr.read().strip().splitlines()
            print(f"  stderr of a failed process: {err[-1] if err else '?'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=48, help="evaluations of the study")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if "sqlite" in args.backends:
        work = Path(tempfile.mkdtemp(prefix="metarl-proposers-"))
        print("SQLite:")
        campaign(f"sqlite:///{work / 'p.db'}", args.budget, work)
    if "postgresql" in args.backends:
        print("PostgreSQL:")
        try:
            import psycopg  # noqa: F401 - the postgres extra's driver
        except ImportError:
            print("  skipped: the postgres extra is not installed (pip install 'metarl[postgres]')")
            return
        from tests.study._stored import postgres_server

        with postgres_server() as url:
            if url is None:
                print("  skipped: no PostgreSQL server binaries (initdb, pg_ctl) on PATH")
                return
            campaign(url, args.budget, Path(tempfile.mkdtemp(prefix="metarl-proposers-pg-")))


if __name__ == "__main__":
    main()
