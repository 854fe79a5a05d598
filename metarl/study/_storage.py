"""Glue to Optuna's storages: opening a URL, taking WAITING trials atomically, re-queueing.

metarl writes no storage of its own: a metarl study is an Optuna study, so ``optuna.load_study``
and optuna-dashboard read it. What this module adds:

- SQLite transactions begin with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite recipe),
  so that Optuna's "read WAITING, set RUNNING" claim is atomic across processes: pysqlite
  otherwise runs the read outside any transaction and two processes can claim one trial.
- A trial that was RUNNING in a process that died stops heartbeating; ``requeue_stale`` fails it
  with the reason and enqueues a fresh WAITING copy with the same params (``release_trial``).
  The writes are ordered so that a kill between any two of them loses no config: see
  ``release_trial``.
"""

from __future__ import annotations

import os
import random
import re
import socket
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from metarl.study._schema import (
    ERROR,
    REQUEUE_OF,
    SECONDS,
    WORKER,
    WORKER_DIED,
    is_lost,
    metarl_attrs,
)


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
    """Enqueue a WAITING copy of a lost trial (also Optuna's heartbeat-stale callback, for
    Optuna's own ``fail_stale_trials``).

    The copy keeps the proposal's attributes (origin, round, seed, context), not the lost
    run's traces (error, worker, seconds), and names the trial it replaces.
    """
    lost_run = (ERROR, WORKER, SECONDS)
    attrs = {k: v for k, v in metarl_attrs(trial.user_attrs).items() if k not in lost_run}
    attrs[REQUEUE_OF] = trial.number
    # a trial queued by Optuna's study.enqueue_trial and lost before its params were
    # written holds its config in this system attribute only
    fixed = trial.system_attrs.get("fixed_params") if not trial.params else None
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=attrs,
            system_attrs={"fixed_params": fixed} if fixed else None,
        )
    )


def open_storage(
    url: str | BaseStorage | None,
    *,
    heartbeat_interval: int = 5,
    grace_period: int | None = None,
    create: bool = True,
) -> BaseStorage:
    """Open an Optuna storage.

    Args:
        url: ``None`` for an in-memory storage, an RDB URL (``sqlite:///metarl.db``;
            ``postgresql://user:password@host:5432/db`` with ``pip install 'metarl[postgres]'``
            (psycopg 3), or ``postgresql+psycopg2://...`` with psycopg2), or a storage object
            (returned as is).
        heartbeat_interval: seconds between heartbeats of a running trial (RDB only).
        grace_period: seconds without heartbeat after which a running trial is re-queued;
            default ``2 * heartbeat_interval + 1``.
        create: create Optuna's tables in a database that lacks them (a run). ``False`` (the
            commands that only read: ``metarl status``, ``best``): a database without them, or
            a missing SQLite file, is refused and left unchanged (no file, table or row is
            written).

    Raises:
        StorageError: the URL cannot be opened, or (``create=False``) holds no Optuna
            storage (the message names it).
    """
    if url is None:
        return InMemoryStorage()
    if isinstance(url, BaseStorage):
        return url
    url, shown, engine_kwargs = _rdb_url(url)
    try:
        if not create:
            _check_optuna_tables(url, shown, engine_kwargs)
        storage = _create_rdb(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period or 2 * heartbeat_interval + 1,
            heartbeat_stale_trial_callback=_requeue,
            skip_table_creation=not create,
        )
    except StorageError:
        raise
    except Exception as e:  # sqlalchemy raises many kinds; all mean "cannot open"
        raise _cannot_open(e, url, shown) from None
    if url.startswith("sqlite") and sqlite_path(url) is not None:
        # an in-memory SQLite database lives in its one connection: one process, nothing to
        # serialise, and re-connecting would lose it
        _serialise_sqlite(storage)
    return storage


def _rdb_url(url: Any) -> tuple[str, str, dict[str, Any]]:
    """The URL SQLAlchemy opens, the URL as messages show it, and the engine's keywords."""
    if not isinstance(url, str) or "://" not in url:
        raise StorageError(f"storage {url!r}: expected an RDB URL such as sqlite:///metarl.db")
    shown = _hide_password(url)
    if url.startswith("postgresql://"):
        # the driver the postgres extra installs; SQLAlchemy's default is psycopg2 before 2.1
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        check_sqlite_file(url)
        path = sqlite_path(url)
        if path is not None and not path.parent.is_dir():
            raise StorageError(f"storage {shown!r}: directory {str(path.parent)!r} does not exist")
        engine_kwargs = {"connect_args": {"timeout": 60}}
    return url, shown, engine_kwargs


def check_optuna_storage(url: str) -> None:
    """Refuse, writing nothing, an RDB URL that holds no Optuna storage (a missing SQLite
    file, or a database without Optuna's tables): what the reading commands check before
    anything opens the storage with ``create=True``.

    Raises:
        StorageError: one line naming the URL.
    """
    url, shown, engine_kwargs = _rdb_url(url)
    try:
        _check_optuna_tables(url, shown, engine_kwargs)
    except StorageError:
        raise
    except Exception as e:  # noqa: BLE001 - sqlalchemy raises many kinds
        raise _cannot_open(e, url, shown) from None


#: Tables every Optuna RDB storage holds; a database without them is not one.
OPTUNA_TABLES = ("studies", "version_info")


def _check_optuna_tables(url: str, shown: str, engine_kwargs: dict[str, Any]) -> None:
    """Refuse, writing nothing, a database that is not an Optuna storage (``create=False``).

    Optuna's ``RDBStorage`` writes into any database it opens, even with
    ``skip_table_creation=True``: its version row and its alembic stamp. So the tables are
    listed first, on a connection of our own; a missing SQLite file is refused before
    SQLite would create it.
    """
    import sqlalchemy

    path = sqlite_path(url) if url.startswith("sqlite") else None
    if path is not None and not path.is_file():
        raise StorageError(f"storage {shown!r}: no database file {str(path)!r}")
    engine = sqlalchemy.create_engine(url, **engine_kwargs)
    try:
        names = set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    missing = [t for t in OPTUNA_TABLES if t not in names]
    if missing:
        raise StorageError(
            f"storage {shown!r} is not an Optuna storage (no table {missing[0]!r}); "
            "it was left unchanged"
        )


def _cannot_open(e: Exception, url: str, shown: str) -> StorageError:
    """The one-line error of a URL that SQLAlchemy or Optuna cannot open."""
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    if isinstance(e, ImportError) or "DB access module" in msg:
        cause = e if isinstance(e, ModuleNotFoundError) else (e.__cause__ or e.__context__)
        module = getattr(cause, "name", None)
        if url.startswith("postgresql+psycopg://"):
            hint = "pip install 'metarl[postgres]'"
        elif module:
            hint = f"no module {module!r}"
        else:
            hint = "install the driver SQLAlchemy uses for this URL"
        return StorageError(f"storage {shown!r}: its database driver is missing ({hint})")
    return StorageError(f"storage {shown!r} cannot be opened: {msg}")


def _create_rdb(url: str, *, attempts: int = 8, **kwargs: Any) -> RDBStorage:
    """``RDBStorage(url, **kwargs)``, retried while another process creates the same schema.

    Optuna creates its tables with ``create_all`` (check, then ``CREATE TABLE``) and then inserts
    the one version row; processes that open a new database at the same moment race on both and
    the loser sees "table ... already exists" or a unique-constraint error (SQLite's
    IntegrityError, PostgreSQL's UniqueViolation). The winner's schema is complete and correct,
    so opening again succeeds.
    """
    signs = ("already exists", "unique constraint", "integrityerror", "uniqueviolation")
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, **kwargs)
        except Exception as e:
            chain = (e, e.__cause__, e.__context__)
            text = " ".join(f"{type(x).__name__} {x}" for x in chain if x is not None).lower()
            racing = any(sign in text for sign in signs)
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1) + random.random() * 0.1)
    raise AssertionError("unreachable")


def _hide_password(url: str) -> str:
    """``url`` as error messages show it: ``postgresql://user:***@host/db``."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for in-memory SQLite or other RDBs)."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///") :].split("?")[0]
    if rest in ("", ":memory:"):
        return None
    return Path(rest)


def check_sqlite_file(url: str) -> None:
    """Refuse a SQLite URL with an empty file name (``sqlite:///``): SQLite would keep the
    study in memory and lose it at exit. The in-memory spellings ``sqlite://`` and
    ``sqlite:///:memory:`` say so, and pass.

    Raises:
        StorageError: one line naming the URL.
    """
    if not url.startswith("sqlite") or "://" not in url:
        return
    rest = url.split("://", 1)[1].split("?")[0]
    if rest == "/":
        raise StorageError(
            f"storage {url!r}: no database file (e.g. sqlite:///metarl.db); without one "
            "SQLite keeps the study in memory and nothing is stored"
        )


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
        if _heartbeat(storage) is not None:
            storage.record_heartbeat(t._trial_id)  # type: ignore[attr-defined]
        try:
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        storage.set_trial_user_attr(t._trial_id, WORKER, worker_id())
        return storage.get_trial(t._trial_id)
    return None


def release_trial(study: optuna.Study, trial_id: int, reason: str) -> bool:
    """Fail a RUNNING trial whose evaluation is lost, with ``reason``, and enqueue its config
    again; return whether this process did it (another may have finished it first).

    Three writes, ordered so that a kill between any two loses no config: the reason, while
    the trial is RUNNING (killed here, the trial stays RUNNING and stale, and is released
    again); FAIL, the atomic claim that exactly one of several recovering processes wins;
    the copy (killed here, the trial is an orphan that :func:`requeue_stale` re-queues).

    Args:
        study: the study of the trial.
        trial_id: the trial's storage id.
        reason: the error text; it must start with one of ``schema.LOST_REASONS`` for the
            trial to count as lost rather than failed.
    """
    storage = study._storage  # noqa: SLF001 - trial writes take the storage
    try:
        storage.set_trial_user_attr(trial_id, ERROR, reason)
        if not storage.set_trial_state_values(trial_id, TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # finished by its own process after all, or released by another one
    _requeue(study, storage.get_trial(trial_id))
    return True


def _heartbeat(storage: BaseStorage) -> tuple[int, float] | None:
    """(interval, grace period) of a storage with heartbeat, else None."""
    # a study's storage is Optuna's cache around the RDBStorage that holds the settings
    backend = getattr(storage, "_backend", storage)
    interval = getattr(backend, "heartbeat_interval", None)
    if interval is None:
        return None
    return interval, float(getattr(backend, "grace_period", None) or 2 * interval)


def requeue_stale(study: optuna.Study, *, orphans: bool = True) -> int:
    """Release the RUNNING trials whose process stopped heartbeating; return how many trials
    were re-queued.

    Args:
        study: the study to scan.
        orphans: also re-queue the lost FAIL trials that have no copy (a process killed
            between failing a trial and re-queueing it, here or in Optuna's own
            ``fail_stale_trials``), once they are older than the grace period, so that the
            process that failed them has had time to re-queue. Only one process may do this
            for a study (two would both re-queue); metarl's proposer does, workers do not.
    """
    storage = study._storage  # noqa: SLF001
    n = 0
    if _heartbeat(storage) is not None:
        # the heartbeat scan of Optuna's fail_stale_trials, whose FAIL-then-callback order
        # would lose the config to a kill in between
        for trial_id in storage._get_stale_trial_ids(study._study_id):  # noqa: SLF001
            worker = storage.get_trial(trial_id).user_attrs.get(WORKER, "unknown")
            n += release_trial(study, trial_id, f"{WORKER_DIED} (worker {worker})")
    if orphans:
        n += _requeue_orphans(study)
    return n


def _requeue_orphans(study: optuna.Study) -> int:
    trials = study.get_trials(deepcopy=False)
    copied = {t.user_attrs[REQUEUE_OF] for t in trials if REQUEUE_OF in t.user_attrs}
    beat = _heartbeat(study._storage)  # noqa: SLF001
    grace = 0.0 if beat is None else beat[1]
    now = datetime.now()  # Optuna stamps datetime_complete with the local naive time
    n = 0
    for t in trials:
        if t.state != TrialState.FAIL or t.number in copied or not is_lost(t.user_attrs):
            continue
        if t.datetime_complete is not None and (now - t.datetime_complete).total_seconds() < grace:
            continue
        _requeue(study, t)
        n += 1
    return n


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def counts(trials: list[FrozenTrial]) -> dict[str, int]:
    """Trial counts: done (COMPLETE + failed), complete, failed (by the trainer: the config
    is spent), pending (WAITING, RUNNING, and lost trials not re-queued yet).

    A lost trial (dead or interrupted process) is neither done nor failed: its config is
    evaluated again by its re-queued copy.
    """
    complete = sum(t.state == TrialState.COMPLETE for t in trials)
    copied = {t.user_attrs[REQUEUE_OF] for t in trials if REQUEUE_OF in t.user_attrs}
    failed = owed = 0
    for t in trials:
        if t.state == TrialState.FAIL:
            if not is_lost(t.user_attrs):
                failed += 1
            elif t.number not in copied:
                owed += 1
    pending = owed + sum(t.state in (TrialState.WAITING, TrialState.RUNNING) for t in trials)
    return {
        "done": complete + failed,
        "complete": complete,
        "failed": failed,
        "pending": pending,
    }


def failure_reasons(trials: list[FrozenTrial], width: int = 120) -> list[tuple[str, int]]:
    """The reasons of the trainer failures among ``trials`` with their counts, most frequent
    first (each reason's first line, at most ``width`` characters; lost trials excluded)."""
    tally: dict[str, int] = {}
    for t in trials:
        if t.state == TrialState.FAIL and not is_lost(t.user_attrs):
            lines = str(t.user_attrs[ERROR]).strip().splitlines() or ["(no reason)"]
            reason = lines[0][:width]
            tally[reason] = tally.get(reason, 0) + 1
    return sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))


class Periodic:
    """A daemon thread that calls ``action()`` every ``interval`` seconds from :meth:`start`
    until :meth:`stop`. An action that raises is a ``RuntimeWarning`` (``message(error)``) and
    the thread goes on: a missed heartbeat or lease renewal must not end the run.
    """

    def __init__(
        self,
        action: Callable[[], Any],
        interval: float,
        name: str,
        message: Callable[[Exception], str],
    ) -> None:
        import threading

        self._action, self._interval, self._message = action, interval, message
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._action()
            except Exception as e:  # noqa: BLE001 - see the class docstring
                warnings.warn(self._message(e), RuntimeWarning, stacklevel=1)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for its current action to end (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


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
        beat = _heartbeat(storage)
        self._thread = None
        if beat is not None:
            self._thread = Periodic(
                self._beat, beat[0], "metarl-heartbeat", lambda e: f"metarl: heartbeat failed ({e})"
            )

    def _beat(self) -> None:
        with self._lock:
            ids = list(self._ids)
        for trial_id in ids:
            try:
                self._storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
            except Exception as e:  # noqa: BLE001 - the other trials still beat
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
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.stop()
