"""Review 3, defect 4: the reading commands (``metarl status``, ``best``, ``worker``) leave a
SQLite file that is not an Optuna storage byte for byte unchanged, refusing it in one line;
``open_storage(create=False)`` creates no table; a missing file is not created."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from metarl.cli import main
from metarl.study._storage import StorageError, open_storage


def _app_db(path: Path) -> bytes:
    c = sqlite3.connect(path)
    c.execute("create table users(name text)")
    c.commit()
    c.close()
    return path.read_bytes()


@pytest.mark.parametrize("command", ["status", "best", "worker"])
def test_readers_leave_a_foreign_sqlite_file_unchanged(tmp_path, capsys, command) -> None:
    db = tmp_path / "app.db"
    before = _app_db(db)
    assert main([command, "--storage", f"sqlite:///{db}", "--study", "s"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an Optuna storage" in err[0] and "app.db" in err[0]
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


@pytest.mark.parametrize("command", ["status", "best", "worker"])
def test_readers_leave_an_empty_file_empty(tmp_path, capsys, command) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    assert main([command, "--storage", f"sqlite:///{db}", "--study", "s"]) == 2
    assert "not an Optuna storage" in capsys.readouterr().err
    assert db.read_bytes() == b""


def test_readers_still_name_the_stored_studies(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    import optuna

    optuna.create_study(study_name="other", storage=url)
    before = (tmp_path / "o.db").read_bytes()
    assert main(["status", "--storage", url, "--study", "s"]) == 2
    err = capsys.readouterr().err
    assert "no study 's'" in err and "other" in err
    assert (tmp_path / "o.db").read_bytes() == before


def test_open_storage_without_create_refuses_and_writes_nothing(tmp_path) -> None:
    db = tmp_path / "app.db"
    before = _app_db(db)
    with pytest.raises(StorageError, match="not an Optuna storage"):
        open_storage(f"sqlite:///{db}", create=False)
    assert db.read_bytes() == before
    missing = tmp_path / "missing.db"
    with pytest.raises(StorageError, match="no database file"):
        open_storage(f"sqlite:///{missing}", create=False)
    assert not missing.exists()


def test_open_storage_creates_tables_by_default(tmp_path) -> None:
    db = tmp_path / "new.db"
    open_storage(f"sqlite:///{db}")
    names = {n for (n,) in sqlite3.connect(db).execute("select name from sqlite_master")}
    assert {"studies", "version_info"} <= names
