"""Glue to Optuna's storages: opening a URL, taking WAITING trials atomically, re-queueing.

metarl writes no storage of its own: a metarl study is an Optuna study, so ``optuna.load_study``
and optuna-dashboard read it. What this module adds:

- SQLite transactions begin with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite recipe),
  so that Optuna's "read WAITING, set RUNNING" claim is atomic across processes: pysqlite
  otherwise runs the read outside any transaction and two processes can claim one trial.
- A trial that was RUNNING in a process that died stops heartbeating; ``requeue_stale`` fails it
  (Optuna's ``fail_stale_trials``) and enqueues a fresh WAITING trial with the same params.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from metarl.study._schema import ERROR, REQUEUE_OF, WORKER, metarl_attrs  # noqa: F401 - ERROR: until _study.py imports it from _schema


class StorageError(ValueError):
    """A storage URL that cannot be opened, or a study that does not match."""


def _serialise_sqlite(storage: RDBStorage) -> None:
    from sqlalchemy import event

    engine = storage.engine

    @event.listens_for(engine, "connect")
    def _no_pysqlite_begin(dbapi_connection: Any, record: Any) -> None:  # noqa: ARG001
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners would keep pysqlite's BEGIN


def _requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat-stale callback: mark the dead trial and enqueue its params again."""
    attrs = metarl_attrs(trial.user_attrs)
    attrs[REQUEUE_OF] = trial.number
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=attrs,
        )
    )


def open_storage(
    url: str | BaseStorage | None,
    *,
    heartbeat_interval: int = 5,
    grace_period: int | None = None,
) -> BaseStorage:
    """Open an Optuna storage.

    Args:
        url: ``None`` for an in-memory storage, an RDB URL (``sqlite:///metarl.db``,
            ``postgresql://...``), or a storage object (returned as is).
        heartbeat_interval: seconds between heartbeats of a running trial (RDB only).
        grace_period: seconds without heartbeat after which a running trial is re-queued;
            default ``2 * heartbeat_interval + 1``.

    Raises:
        StorageError: the URL cannot be opened (the message names it).
    """
    if url is None:
        return InMemoryStorage()
    if isinstance(url, BaseStorage):
        return url
    if not isinstance(url, str) or "://" not in url:
        raise StorageError(f"storage {url!r}: expected an RDB URL such as sqlite:///metarl.db")
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None and not path.parent.is_dir():
            raise StorageError(f"storage {url!r}: directory {str(path.parent)!r} does not exist")
        engine_kwargs = {"connect_args": {"timeout": 60}}
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period or 2 * heartbeat_interval + 1,
                heartbeat_stale_trial_callback=_requeue,
            )
    except Exception as e:  # sqlalchemy raises many kinds; all mean "cannot open"
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise StorageError(f"storage {url!r} cannot be opened: {msg}") from None
    if url.startswith("sqlite"):
        _serialise_sqlite(storage)
    return storage


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for in-memory SQLite or other RDBs)."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///") :].split("?")[0]
    if rest in ("", ":memory:"):
        return None
    return Path(rest)


def artifacts_dir(storage: BaseStorage, study_name: str) -> Path | None:
    """Where a study's checkpoints live: ``<db>.artifacts/<study>/`` beside a SQLite file."""
    url = getattr(storage, "url", None)
    path = sqlite_path(url) if isinstance(url, str) else None
    if path is None:
        return None
    return path.with_name(path.name + ".artifacts") / study_name


def pop_waiting(storage: BaseStorage, study_id: int) -> FrozenTrial | None:
    """Claim one WAITING trial (set it RUNNING) and return it, or None when none waits.

    The same protocol as Optuna's ``Study.ask``: ``set_trial_state_values(RUNNING)`` returns
    False when another process claimed the trial first. Unlike ``ask``, it never creates a new
    trial. The heartbeat is recorded at once, so a claim by a process killed right after
    is detected as stale.
    """
    for t in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
        # heartbeat first: Optuna's stale scan skips RUNNING trials without one, so a claim
        # by a process killed between the two writes would otherwise never be re-queued
        if isinstance(storage, RDBStorage) and storage.heartbeat_interval is not None:
            storage.record_heartbeat(t._trial_id)
        try:
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        storage.set_trial_user_attr(t._trial_id, WORKER, worker_id())
        return storage.get_trial(t._trial_id)
    return None


def requeue_stale(study: optuna.Study) -> None:
    """Fail the RUNNING trials whose process stopped heartbeating, and enqueue them again."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def counts(trials: list[FrozenTrial]) -> dict[str, int]:
    """Trial counts: done (COMPLETE + trainer failures), complete, failed, pending."""
    complete = sum(t.state == TrialState.COMPLETE for t in trials)
    requeued = {t.user_attrs[REQUEUE_OF] for t in trials if REQUEUE_OF in t.user_attrs}
    failed = sum(t.state == TrialState.FAIL and t.number not in requeued for t in trials)
    pending = sum(t.state in (TrialState.WAITING, TrialState.RUNNING) for t in trials)
    return {
        "done": complete + failed,
        "complete": complete,
        "failed": failed,
        "pending": pending,
    }


class Heartbeat:
    """A daemon thread recording the heartbeat of every trial this process is running.

    Use as a context manager; ``add``/``discard`` the trial ids as they start and finish.
    A no-op on storages without heartbeat (in-memory).
    """

    def __init__(self, storage: BaseStorage) -> None:
        import threading

        self._storage = storage
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        interval = getattr(storage, "heartbeat_interval", None)
        self._interval = interval
        self._thread = threading.Thread(target=self._beat, daemon=True, name="metarl-heartbeat")

    def _beat(self) -> None:
        assert self._interval is not None
        while not self._stop.wait(self._interval):
            with self._lock:
                ids = list(self._ids)
            for trial_id in ids:
                try:
                    self._storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
                except Exception as e:  # noqa: BLE001 - a missed beat must not kill the loop
                    warnings.warn(
                        f"metarl: heartbeat of trial {trial_id} failed ({e}); it may be "
                        "re-queued as stale",
                        RuntimeWarning,
                        stacklevel=1,
                    )

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def __enter__(self) -> Heartbeat:
        if self._interval is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
