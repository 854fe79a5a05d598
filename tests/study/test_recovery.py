"""Recovery of trials whose process died: every config is evaluated, none twice, and every
FAIL says why (kill -9 states are built directly, as a kill leaves them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from metarl.study._schema import ERROR, INTERRUPTED, ORIGIN, REQUEUE_OF, WORKER
from metarl.study._storage import counts, open_storage, pop_waiting, requeue_stale
from tests.study._stored import stored_study

ROOT = Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    st = open_storage(f"sqlite:///{tmp_path / 'r.db'}", heartbeat_interval=1, grace_period=1)
    s = optuna.create_study(study_name="r", storage=st)
    for x in (0.1, 0.2):
        s.add_trial(
            create_trial(
                state=TrialState.WAITING,
                params={"x": x},
                distributions={"x": FloatDistribution(0.0, 1.0)},
                user_attrs={ORIGIN: "init"},
            )
        )
    return s


def _past_grace() -> None:
    time.sleep(2.5)  # grace period 1 s; the storage's clock judges staleness


def _copies(study: optuna.Study, number: int) -> list:
    return [t for t in study.get_trials() if t.user_attrs.get(REQUEUE_OF) == number]


def test_a_dead_workers_trial_fails_with_the_reason_and_is_requeued(study) -> None:
    trial = pop_waiting(study._storage, study._study_id)
    _past_grace()  # its process "died": no more heartbeats
    requeue_stale(study)
    dead = study.get_trials()[trial.number]
    assert dead.state == TrialState.FAIL
    assert dead.user_attrs[ERROR].startswith("worker died: heartbeat expired")
    (copy,) = _copies(study, trial.number)
    assert copy.state == TrialState.WAITING and copy.params == trial.params
    # the copy is a fresh proposal: it keeps where it came from, not the dead run's traces
    assert copy.user_attrs[ORIGIN] == "init"
    assert ERROR not in copy.user_attrs and WORKER not in copy.user_attrs
    assert counts(study.get_trials()) == {"done": 0, "complete": 0, "failed": 0, "pending": 2}


def test_kill_between_fail_and_requeue_loses_no_config(study) -> None:
    trial = pop_waiting(study._storage, study._study_id)
    # Optuna's stale recovery fails first and re-queues after: a kill in between leaves this
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    # the config is still owed: it is pending, not a failure spent from the budget
    assert counts(study.get_trials())["pending"] == 2
    _past_grace()  # the recovering process is dead, not merely between two writes
    requeue_stale(study)
    requeue_stale(study)  # a second scan finds the copy and adds none
    (copy,) = _copies(study, trial.number)
    assert copy.state == TrialState.WAITING and copy.params == trial.params
    assert counts(study.get_trials())["failed"] == 0


def test_a_fresh_orphan_is_left_to_its_recovering_process(study) -> None:
    trial = pop_waiting(study._storage, study._study_id)
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    requeue_stale(study)  # within the grace period: the recoverer may be about to re-queue
    assert _copies(study, trial.number) == []


def test_workers_do_not_requeue_orphans(study) -> None:
    trial = pop_waiting(study._storage, study._study_id)
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    _past_grace()
    requeue_stale(study, orphans=False)  # only the proposer re-queues orphans (no race)
    assert _copies(study, trial.number) == []


def test_a_trainer_failure_is_spent_and_never_requeued(study) -> None:
    trial = pop_waiting(study._storage, study._study_id)
    study._storage.set_trial_user_attr(trial._trial_id, ERROR, "diverged at step 7")
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    _past_grace()
    requeue_stale(study)
    assert _copies(study, trial.number) == []
    assert counts(study.get_trials())["failed"] == 1


@pytest.mark.slow
def test_an_interrupted_worker_fails_its_trial_as_interrupted_and_requeues_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    study = stored_study(open_storage(url), "i", 1)
    log = tmp_path / "calls.log"  # the trainer writes it when the call starts
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METARL_TEST_DELAY": "60"}
    env["METARL_TEST_LOG"] = str(log)
    cmd = [sys.executable, "-m", "metarl.cli", "worker", "--storage", url, "--study", "i"]
    # Ctrl-C's default disposition in the worker, whatever this test process inherited
    # (an ignored SIGINT survives exec), and its stderr read to the end (a full pipe blocks)
    p = subprocess.Popen(
        cmd,
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        # the interrupt must reach a call running in the pool's child (not one whose
        # process is still starting: a fixed sleep raced with that start on a busy machine)
        while not log.exists():
            assert p.poll() is None, p.stderr.read()
            time.sleep(0.2)
        assert study.get_trials()[0].state == TrialState.RUNNING
        p.send_signal(signal.SIGINT)
        err = p.communicate(timeout=60)[1]
        assert p.returncode != 0 and "interrupted" in err, err
    finally:
        p.kill()
    lost, copy = study.get_trials()
    assert lost.state == TrialState.FAIL and lost.user_attrs[ERROR] == INTERRUPTED
    assert copy.state == TrialState.WAITING and copy.user_attrs[REQUEUE_OF] == lost.number
    assert copy.params == lost.params
    assert counts(study.get_trials())["failed"] == 0
