"""The proposer lease (issue 12, item 5): one process proposes for a study at a time; others
take over when it is released or stops being renewed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.study._lease import ProposerLease
from metarl.study._storage import open_storage

ROOT = Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    optuna.create_study(study_name="l", storage=open_storage(url))
    return url


def _lease(url: str, interval: float = 0.5, grace: float = 3.0) -> ProposerLease:
    st = open_storage(url)  # one storage (engine) per lease, as in separate processes
    return ProposerLease(st, st.get_study_id_from_name("l"), interval=interval, grace=grace)


def test_one_holder_and_a_released_lease_is_taken_at_once(url: str) -> None:
    a, b = _lease(url), _lease(url)
    assert a.try_take() and not b.try_take()
    assert b.holder() == a.owner_id
    a.release()
    assert b.try_take() and not a.try_take()


def test_a_lease_no_longer_renewed_is_taken_after_the_grace_period(url: str) -> None:
    a, b = _lease(url), _lease(url)
    assert a.try_take()  # then a "dies": it never renews
    assert not b.try_take()  # b starts watching the value
    time.sleep(0.5)
    assert not b.try_take()  # unchanged for less than the grace period (3 s)
    time.sleep(3.0)
    assert b.try_take()
    assert not a.renew()  # a comes back: the lease is gone, a stops proposing
    assert not a.held and b.held


def test_a_renewed_lease_is_never_taken(url: str) -> None:
    a, b = _lease(url, interval=0.2, grace=1.5), _lease(url, interval=0.2, grace=1.5)
    assert a.try_take()
    with a:  # its thread renews every 0.2 s: b sees a new value long before 1.5 s pass
        for _ in range(10):
            assert not b.try_take()
            time.sleep(0.3)
        assert a.held
    assert b.try_take()  # released at exit


def test_of_many_simultaneous_takers_exactly_one_wins(url: str) -> None:
    leases = [_lease(url) for _ in range(8)]
    start = threading.Barrier(len(leases))
    won: list[bool] = [False] * len(leases)

    def take(i: int) -> None:
        start.wait()
        won[i] = leases[i].try_take()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(leases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(won) == 1


def test_in_memory_studies_have_a_process_local_lease() -> None:
    st = open_storage(None)
    sid = optuna.create_study(storage=st)._study_id
    a = ProposerLease(st, sid, interval=0.5, grace=1.5)
    b = ProposerLease(st, sid, interval=0.5, grace=1.5)
    assert a.try_take() and not b.try_take()
    a.release()
    assert b.try_take()


RUN = """space:
  x: {{type: float, low: -2.0, high: 2.0, bins: 9}}
  n: {{type: integer, low: 1, high: 6}}
trainer: 'tests.study._trainers:quadratic'
metric: loss
learner: forest
policy: random
budget: {budget}
batch_size: 4
n_init: 4
storage: {url}
study_name: p
heartbeat_interval: 1
grace_period: 3
executor: thread
"""


@pytest.mark.slow
def test_four_runs_on_one_config_evaluate_each_config_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    (tmp_path / "run.yaml").write_text(RUN.format(budget=24, url=url))
    log = tmp_path / "calls.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METARL_TEST_LOG": str(log)}
    env["METARL_TEST_DELAY"] = "0.2"
    cmd = [sys.executable, "-m", "metarl.cli", "run", "run.yaml", "--no-progress"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL) for _ in range(4)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0
    trials = optuna.load_study(study_name="p", storage=url).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 24  # budget exact
    calls = log.read_text().splitlines()
    assert len(calls) == 24 and len(set(calls)) == 24  # none evaluated twice
