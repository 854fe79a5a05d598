"""Storages: URLs and their errors, and workers sharing a PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.study import StorageError
from metarl.study._storage import open_storage
from tests.study._stored import postgres_server, stored_study

ROOT = Path(__file__).resolve().parents[2]
optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_a_missing_driver_is_named_and_the_password_hidden() -> None:
    with pytest.raises(StorageError, match=r"u:\*\*\*@.*driver is missing \(no module 'pg8000'\)"):
        open_storage("postgresql+pg8000://u:secret@127.0.0.1:1/db")


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    with pytest.raises(StorageError, match="cannot be opened") as e:
        open_storage("postgresql://u:secret@127.0.0.1:1/db")
    assert "secret" not in str(e.value) and "\n" not in str(e.value)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    with postgres_server() as url:
        if url is None:
            pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH")
        yield url


@pytest.mark.slow
def test_workers_share_one_postgres_store(postgres_url: str, tmp_path: Path) -> None:
    study = stored_study(open_storage(postgres_url), "pg-workers", 12)
    log = tmp_path / "calls.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METARL_TEST_LOG": str(log)}
    env["METARL_TEST_DELAY"] = "0.05"
    cmd = [sys.executable, "-m", "metarl.cli", "worker", "--storage", postgres_url]
    cmd += ["--study", "pg-workers", "--idle-timeout", "1"]
    procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    trials = study.get_trials()
    assert len(trials) == 12 and all(t.state == TrialState.COMPLETE for t in trials)
    calls = log.read_text().splitlines()
    assert len(calls) == 12 and len(set(calls)) == 12  # none lost, none evaluated twice


_OPEN_AT_ONCE = """
import sys, time
from metarl.study._storage import open_storage
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
storage = open_storage(sys.argv[1])
print(len(storage.get_all_studies()))
"""


def test_processes_opening_one_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    """Optuna creates the schema with check-then-CREATE; the losers of that race reopen."""
    import time

    url = f"sqlite:///{tmp_path / 'new.db'}"
    start = str(time.time() + 3.0)  # after every interpreter has imported optuna
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT_ONCE, url, start],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert [out.strip() for out, _ in results] == ["0"] * 6


def test_a_schema_race_is_retried_and_other_errors_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from metarl.study import _storage

    calls: list[str] = []
    real = _storage.RDBStorage

    def flaky(url: str, **kwargs: object) -> object:
        calls.append(url)
        if len(calls) == 1:
            raise RuntimeError("(sqlite3.OperationalError) table studies already exists")
        return real(url, **kwargs)

    monkeypatch.setattr(_storage, "RDBStorage", flaky)
    storage = open_storage("sqlite://")
    assert len(calls) == 2 and storage.get_all_studies() == []

    def broken(url: str, **kwargs: object) -> object:
        calls.append(url)
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(_storage, "RDBStorage", broken)
    calls.clear()
    with pytest.raises(StorageError, match="disk I/O error"):
        open_storage("sqlite://")
    assert len(calls) == 1


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///?timeout=5"])
def test_a_sqlite_url_without_a_file_name_is_refused(url: str) -> None:
    with pytest.raises(StorageError, match=r"no database file \(e.g. sqlite:///metarl.db\)"):
        open_storage(url)
    assert isinstance(open_storage("sqlite://"), object)  # SQLAlchemy's in-memory spelling


def test_study_refuses_a_sqlite_url_without_a_file_name() -> None:
    from metarl.study import Study
    from tests.study._trainers import SPACE, quadratic

    with pytest.raises(StorageError, match="sqlite:///"):
        Study(SPACE, quadratic, metric="loss", storage="sqlite:///", executor="thread")
