"""`run_worker` (Python) on a database that is not an Optuna storage refuses it in one line
and leaves it byte for byte unchanged, as `metarl worker` does (review 3 #4, the Python path)."""

import sqlite3

import pytest

from metarl.study import run_worker
from metarl.study._storage import StorageError


def test_run_worker_leaves_a_foreign_database_unchanged(tmp_path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE users (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StorageError):
        run_worker(f"sqlite:///{path}", "s", max_trials=1)
    assert path.read_bytes() == before
