"""The refinement loop: storage, failures, executors, workers, kill -9 and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.learners import ForestLearner
from metarl.study import StorageError, Study, TrainerSpec
from metarl.study._lease import ProposerLease
from tests.study._trainers import SPACE, flaky, quadratic

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(**kw):
    kw.setdefault("learner", ForestLearner(n_estimators=20))
    kw.setdefault("policy", "random")
    kw.setdefault("executor", "thread")
    return Study(SPACE, kw.pop("trainer", quadratic), metric="loss", **kw)


def test_loop_in_memory_stores_everything() -> None:
    s = _study(n_init=4, batch_size=3).optimize(10)
    trials = s.trials()
    assert len(trials) == 10 and all(t.state == TrialState.COMPLETE for t in trials)
    assert {"train_time", "metarl:origin", "metarl:seed", "metarl:worker"} <= set(
        trials[0].user_attrs
    )
    for t in trials:  # conditional params absent where inactive
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
    keys = {tuple(sorted(t.params.items())) for t in trials}
    assert len(keys) == 10
    origins = [r["origin"] for r in s.rounds]
    assert origins[:2] == ["init", "init"] and origins[-1] == "random"  # 4 = 3 + 1 init
    assert s.best_value == min(t.value for t in trials)


def test_failures_are_recorded_and_never_proposed_again() -> None:
    s = _study(trainer=flaky, executor="process", n_workers=2, timeout=2, n_init=12, seed=1)
    # the seed's initial design holds each failing case (n = 1 raises, 2 NaN, 3 hangs)
    assert {1, 2, 3} <= set(s._design[:, SPACE.names.index("n")].astype(int))
    s.optimize(12)
    failed = s.trials((TrialState.FAIL,))
    errors: dict[int, list[str]] = {}
    for t in failed:
        errors.setdefault(t.params["n"], []).append(t.user_attrs["metarl:error"])
    assert set(errors) == {1, 2, 3}
    assert all("diverged" in e for e in errors[1])
    assert all("nan" in e.lower() for e in errors[2])
    assert all("timed out" in e for e in errors[3])
    # failed configs are excluded from proposals and from the learner's data
    configs, y = s.history()
    assert len(y) == 12 - len(failed)
    s.optimize(16)
    keys = [tuple(sorted(t.params.items())) for t in s.trials()]
    assert len(keys) == len(set(keys)) == 16


def test_dask_executor() -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1) as cluster,
        distributed.Client(cluster) as client,
    ):
        from metarl.study import DaskExecutor

        s = _study(executor=DaskExecutor(client), n_init=4, batch_size=4)
        s.optimize(8)
    assert len(s.trials((TrialState.COMPLETE,))) == 8


def test_existing_study_with_another_space_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    _study(storage=url, n_init=2).optimize(2)
    from metarl.space import Integer, SearchSpace

    with pytest.raises(StorageError, match="different space"):
        Study(
            SearchSpace({"n": Integer(1, 3)}),
            quadratic,
            metric="loss",
            storage=url,
            learner=ForestLearner(),
            policy="random",
        )
    with pytest.raises(StorageError, match="cannot be opened|does not exist"):
        _study(storage=f"sqlite:///{tmp_path / 'missing' / 'a.db'}")


def _enqueue_only(url: str, n: int) -> Study:
    s = _study(
        storage=url,
        executor="none",
        n_init=n,
        batch_size=n,
        trainer=TrainerSpec("import", "tests.study._trainers:quadratic"),
    )
    lease = ProposerLease(s.storage, s.optuna_study._study_id, interval=1, grace=3)
    assert lease.try_take()
    s._propose(n, 0, lease)  # enqueue n WAITING trials without evaluating them
    lease.release()
    return s


@pytest.mark.slow
def test_workers_share_one_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    log = tmp_path / "calls.log"
    s = _enqueue_only(url, 12)
    env = {**ENV, "METARL_TEST_LOG": str(log), "METARL_TEST_DELAY": "0.05"}
    cmd = [
        sys.executable,
        "-m",
        "metarl.cli",
        "worker",
        "--storage",
        url,
        "--study",
        "metarl",
        "--idle-timeout",
        "1",
        "--heartbeat-interval",
        "1",
    ]
    procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    trials = s.trials()
    assert len(trials) == 12 and all(t.state == TrialState.COMPLETE for t in trials)
    calls = log.read_text().splitlines()
    assert len(calls) == 12 and len(set(calls)) == 12  # none lost, none evaluated twice
    assert len({t.user_attrs["metarl:worker"] for t in trials}) >= 2


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path: Path) -> None:
    (tmp_path / "space.yaml").write_text(
        "x: {type: float, low: -2.0, high: 2.0, bins: 9}\nn: {type: integer, low: 1, high: 6}\n"
    )
    (tmp_path / "run.yaml").write_text(
        "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
        "learner: forest\npolicy: random\nbudget: 16\nbatch_size: 4\nn_init: 4\n"
        "storage: sqlite:///k.db\nheartbeat_interval: 1\ngrace_period: 4\nstudy_name: k\n"
    )
    log = tmp_path / "calls.log"
    env = {**ENV, "METARL_TEST_LOG": str(log), "METARL_TEST_DELAY": "0.3"}
    cmd = [sys.executable, "-m", "metarl.cli", "--debug", "run", "run.yaml", "--no-progress"]
    p = subprocess.Popen(
        cmd,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 6):
        time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL)  # the run and its pool processes, mid-study
    p.wait()
    st = optuna.load_study(study_name="k", storage=f"sqlite:///{tmp_path / 'k.db'}")
    before = {t.number: t.value for t in st.get_trials(states=(TrialState.COMPLETE,))}
    assert 0 < len(before) < 16
    r = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "results: sqlite:///k.db" in r.stdout
    st = optuna.load_study(study_name="k", storage=f"sqlite:///{tmp_path / 'k.db'}")
    done = st.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 16  # the budget counts what was done
    assert all(st.trials[n].value == v for n, v in before.items())  # nothing lost
    keys = [tuple(sorted(t.params.items())) for t in done]
    assert len(set(keys)) == 16  # nothing evaluated twice


def test_bad_settings_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"batch_size=0: expected a positive integer"):
        _study(batch_size=0)
    with pytest.raises(ValueError, match=r"n_init=-1: expected a non-negative integer"):
        _study(n_init=-1)
    with pytest.raises(ValueError, match="direction"):
        _study(direction="up")


def test_a_callback_returning_false_stops_and_none_continues() -> None:
    seen: list[int] = []

    def log(study: Study, record: dict) -> None:
        seen.append(record["round"])

    s = _study(n_init=2, batch_size=2).optimize(8, callbacks=[log])
    assert seen == [0, 1, 2, 3] and len(s.trials()) == 8
    s = _study(n_init=2, batch_size=2)
    s.optimize(8, callbacks=[log, lambda study, record: record["round"] < 1])
    assert len(s.rounds) == 2 and len(s.trials()) == 4


def test_rounds_record_the_learner_quality_and_timings() -> None:
    s = _study(n_init=6, batch_size=3, policy="exhaustive").optimize(12)
    model = [r for r in s.rounds if r["origin"] == "exhaustive"]
    assert [r["n_train"] for r in model] == [6, 9]
    assert all(isinstance(r["cv_spearman"], float) for r in model)
    assert all(r["fit_s"] > 0 and r["propose_s"] > 0 for r in model)
    assert s.fitted_learner is not None and s.fitted_learner is not s.learner
