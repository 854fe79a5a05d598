"""The proposer lease: at most one process proposes for a study at a time.

Two processes that propose for one study fit the same learner on the same history and
propose the same configs, so every ``metarl run`` on a study takes this lease before it
proposes; the others evaluate the holder's WAITING trials meanwhile (as ``metarl worker``
does) and take the lease when it frees.

The lease is the study system attribute ``metarl:proposer``, ``{"owner": ..., "beat": n}``,
changed only by compare-and-set: an ``UPDATE ... WHERE value_json = <the value read>`` (or an
``INSERT`` that the ``(study_id, key)`` unique constraint lets only one process make). The
database applies it atomically on its row, so of several processes that read one value,
exactly one changes it. Optuna's ``set_study_system_attr`` is a blind write and cannot do this.

Expiry without comparing clocks: the holder renews the lease (``beat + 1``) every heartbeat
interval from a daemon thread; another process takes it over once it has seen the same value
for longer than the grace period on its own monotonic clock. A lease released at exit
(``owner: null``) is taken at once. A holder that renews too late (paused for longer than the
grace period) finds the value changed and stops proposing; it checks the lease with a renewal
right before it enqueues, so its proposals are stored within one grace period of a renewal.

Storages: RDB (SQLite, PostgreSQL, MySQL) as above; the in-memory storage with a lock of this
process (it is not shared with others); any other storage (journal, gRPC proxy) offers no
compare-and-set, so a warning says the lease is not enforced there.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
import warnings
from typing import Any

from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage

from metarl.study._storage import Periodic

#: The study system attribute holding the lease.
KEY = "metarl:proposer"


class _RDBCell:
    """The lease's row in Optuna's ``study_system_attributes`` table."""

    def __init__(self, storage: RDBStorage, study_id: int) -> None:
        from optuna.storages._rdb.models import StudySystemAttributeModel

        self._engine = storage.engine
        self._table = StudySystemAttributeModel.__table__
        self._study_id = study_id

    def _where(self) -> Any:
        t = self._table
        return (t.c.study_id == self._study_id) & (t.c.key == KEY)

    def read(self) -> str | None:
        from sqlalchemy import select

        with self._engine.connect() as conn:
            return conn.execute(select(self._table.c.value_json).where(self._where())).scalar()

    def swap(self, old: str | None, new: str) -> bool:
        """Write ``new`` if the stored value is still ``old`` (None: no row); return whether
        it was written."""
        from sqlalchemy.exc import IntegrityError

        t = self._table
        try:
            # SQLite: BEGIN IMMEDIATE (metarl's engine listener) serialises the transaction
            with self._engine.begin() as conn:
                if old is None:
                    conn.execute(
                        t.insert().values(study_id=self._study_id, key=KEY, value_json=new)
                    )
                    return True
                stmt = t.update().where(self._where() & (t.c.value_json == old))
                return conn.execute(stmt.values(value_json=new)).rowcount == 1
        except IntegrityError:  # another process inserted the row first
            return False


_LOCAL: dict[tuple[int, int], str] = {}
_LOCAL_LOCK = threading.Lock()


class _LocalCell:
    """The lease of a study in an in-memory storage (shared by this process only)."""

    def __init__(self, storage: BaseStorage, study_id: int) -> None:
        self._key = (id(storage), study_id)

    def read(self) -> str | None:
        with _LOCAL_LOCK:
            return _LOCAL.get(self._key)

    def swap(self, old: str | None, new: str) -> bool:
        with _LOCAL_LOCK:
            if _LOCAL.get(self._key) != old:
                return False
            _LOCAL[self._key] = new
            return True


def _cell(storage: BaseStorage, study_id: int) -> _RDBCell | _LocalCell | None:
    backend = getattr(storage, "_backend", storage)  # Optuna's cache wraps the RDBStorage
    if isinstance(backend, RDBStorage):
        return _RDBCell(backend, study_id)
    if isinstance(backend, InMemoryStorage):
        return _LocalCell(backend, study_id)
    return None


def _parse(value: str | None) -> dict[str, Any]:
    if value is None:
        return {"owner": None, "beat": 0}
    try:
        out = json.loads(value)
    except ValueError:
        return {"owner": "unreadable", "beat": 0}
    return out if isinstance(out, dict) else {"owner": "unreadable", "beat": 0}


class ProposerLease:
    """This process's claim to propose for one study.

    Use as a context manager (it starts the renewal thread and releases the lease at exit),
    and call :meth:`try_take` whenever the process would propose.

    Args:
        storage: the study's storage.
        study_id: the study's storage id.
        interval: seconds between renewals (the storage's heartbeat interval).
        grace: seconds an unchanged lease stays valid (the heartbeat grace period).
    """

    def __init__(self, storage: BaseStorage, study_id: int, interval: float, grace: float) -> None:
        if interval >= grace:
            raise ValueError(f"lease: interval {interval} must be shorter than grace {grace}")
        self.owner_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._cell = _cell(storage, study_id)
        if self._cell is None:
            warnings.warn(
                f"metarl: {type(storage).__name__} offers no compare-and-set, so the proposer "
                "lease is not enforced: run one proposing process per study",
                RuntimeWarning,
                stacklevel=2,
            )
        self._grace = grace
        self._lock = threading.Lock()
        self._mine: str | None = None  # the value this process wrote, while it holds the lease
        self._seen: tuple[str | None, float] = (None, 0.0)  # another's value, first seen at
        self._thread = Periodic(
            self.renew,
            interval,
            "metarl-lease",
            lambda e: (
                f"metarl: renewing the proposer lease failed ({e}); another process may take it"
            ),
        )

    @property
    def held(self) -> bool:
        """Whether this process holds the lease (as of its last renewal)."""
        return self._cell is None or self._mine is not None

    def holder(self) -> str | None:
        """The owner of the lease as stored (None: free)."""
        if self._cell is None:
            return self.owner_id
        return _parse(self._cell.read())["owner"]

    def try_take(self) -> bool:
        """Take the lease if it is free, expired or already ours; return whether we hold it."""
        if self._cell is None:
            return True
        with self._lock:
            if self._mine is not None:
                return True
            current = self._cell.read()
            state = _parse(current)
            now = time.monotonic()
            if state["owner"] is not None and current != self._seen[0]:
                self._seen = (current, now)  # alive until it stays unchanged for the grace
                return False
            if state["owner"] is not None and now - self._seen[1] < self._grace:
                return False
            new = json.dumps({"owner": self.owner_id, "beat": int(state.get("beat", 0)) + 1})
            if self._cell.swap(current, new):
                self._mine = new
            return self._mine is not None

    def renew(self) -> bool:
        """Renew the lease now; return whether this process still holds it."""
        if self._cell is None:
            return True
        with self._lock:
            if self._mine is None:
                return False
            beat = int(_parse(self._mine)["beat"]) + 1
            new = json.dumps({"owner": self.owner_id, "beat": beat})
            self._mine = new if self._cell.swap(self._mine, new) else None
            return self._mine is not None

    def release(self) -> None:
        """Free the lease (if held) so that another process may take it at once."""
        if self._cell is None:
            return
        with self._lock:
            if self._mine is None:
                return
            beat = int(_parse(self._mine)["beat"]) + 1
            self._cell.swap(self._mine, json.dumps({"owner": None, "beat": beat}))
            self._mine = None

    def __enter__(self) -> ProposerLease:
        if self._cell is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.stop()
        with contextlib.suppress(Exception):  # unreleased, it expires after the grace period
            self.release()
