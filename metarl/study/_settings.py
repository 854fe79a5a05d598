"""A study's settings: checking them, and creating, adopting or resuming the Optuna study that
stores them (the stored keys are :mod:`metarl.study._schema`'s).

Creating a metarl study takes several writes (Optuna's ``create_study``, then one user
attribute per setting), and a process may die between any two of them. The fingerprint is
written last: a study that has it is complete. A study without it and without trials, left by
such a kill or made by ``optuna.create_study``, is *adopted* (its attributes are written
again); one that holds trials is refused with the way out, since its trials are not metarl's.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.storages import BaseStorage, InMemoryStorage

from metarl.space import SearchSpace
from metarl.space._restrict import FOCUS_KEYS
from metarl.study import _schema as schema
from metarl.study._executors import EXECUTORS, Executor, ProcessExecutor, unpicklable
from metarl.study._storage import StorageError, open_storage, sqlite_path

#: ``check_settings``'s default for an argument its caller does not check.
_UNCHECKED = object()

#: Keys every complete metarl study has (``metarl:trainer`` is optional).
REQUIRED = (schema.SPACE, schema.METRIC, schema.SETTINGS, schema.FINGERPRINT)


def check_settings(
    direction: str,
    n_init: Any,
    batch_size: Any,
    timeout: Any,
    n_workers: Any,
    executor: Any = "process",
    max_consecutive_failures: Any = 5,
    *,
    storage: Any = _UNCHECKED,
    trainer: Any = None,
) -> None:
    """Refuse bad loop settings before anything is stored.

    Args:
        storage: the study's storage as given (unchecked when not passed): with
            ``executor="none"`` it must be one a ``metarl worker`` process can reach.
        trainer: the trainer as given (None: unchecked): the process executor must be
            able to pickle what it sends (the trainer's spec, else the trainer itself).

    Raises:
        ValueError: the message names the argument and what it expects.
    """
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction {direction!r}: expected 'minimize' or 'maximize'")
    if not _is_int(n_init) or n_init < 0:
        raise ValueError(f"n_init={n_init!r}: expected a non-negative integer")
    for name, v in (("batch_size", batch_size), ("n_workers", n_workers)):
        if not _is_int(v) or v < 1:
            raise ValueError(f"{name}={v!r}: expected a positive integer")
    if timeout is not None and not (_is_number(timeout) and timeout > 0):
        raise ValueError(f"timeout={timeout!r}: expected a positive number of seconds or None")
    if max_consecutive_failures is not None and (
        not _is_int(max_consecutive_failures) or max_consecutive_failures < 1
    ):
        raise ValueError(
            f"max_consecutive_failures={max_consecutive_failures!r}: expected a positive "
            "integer or None (never stop)"
        )
    if not isinstance(executor, Executor) and executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r}: expected one of {list(EXECUTORS)} or an Executor")
    if executor == "dask" and importlib.util.find_spec("distributed") is None:
        raise ValueError(
            "executor='dask' needs the distributed package: pip install 'dask[distributed]'"
        )
    none = isinstance(executor, str) and executor == "none"
    if none and storage is not _UNCHECKED and in_memory(storage):
        raise ValueError(
            "executor='none' on an in-memory storage: no metarl worker process can reach "
            "it, so no trial would ever be evaluated; give an RDB URL (e.g. "
            "storage='sqlite:///metarl.db') or another executor"
        )
    if trainer is not None and (
        (isinstance(executor, str) and executor == "process")
        or isinstance(executor, ProcessExecutor)
    ):
        _check_sendable(trainer)


def _check_sendable(trainer: Any) -> None:
    """Refuse a trainer the process executor cannot send to its workers (it sends the
    trainer's spec when it has one, else the trainer), before any trial is stored."""
    from metarl.trainers import TrainerSpec

    target = TrainerSpec.of(trainer) or trainer
    why = unpicklable(target)
    if why is not None:
        name = getattr(trainer, "__name__", None) or type(trainer).__name__
        raise ValueError(
            f"trainer {name!r}: executor='process' cannot send it to its worker processes "
            f"({why}); define it at module level (importable by name), or use "
            "executor='thread'"
        )


def in_memory(storage: Any) -> bool:
    """Whether a storage (None, a URL or an Optuna storage) lives in this process's memory
    only: Optuna's ``InMemoryStorage``, or in-memory SQLite (``sqlite://``,
    ``sqlite:///:memory:``)."""
    if storage is None or isinstance(storage, InMemoryStorage):
        return True
    if isinstance(storage, BaseStorage):  # Optuna's cache wraps the RDBStorage
        backend = getattr(storage, "_backend", storage)
        if isinstance(backend, InMemoryStorage):
            return True
        storage = getattr(backend, "url", None)
    if not isinstance(storage, str) or not storage.startswith("sqlite") or "://" not in storage:
        return False
    rest = storage.split("://", 1)[1].split("?")[0]
    return rest in ("", "/:memory:") or "mode=memory" in storage


def check_heartbeat(study_name: Any, heartbeat_interval: Any, grace_period: Any) -> None:
    """Refuse a bad study name or heartbeat settings before anything is stored.

    Raises:
        ValueError: the message names the argument and what it expects.
    """
    if not isinstance(study_name, str) or not study_name:
        raise ValueError(f"study_name={study_name!r}: expected a non-empty string")
    if heartbeat_interval is not None and (
        not _is_int(heartbeat_interval) or heartbeat_interval < 1
    ):
        raise ValueError(
            f"heartbeat_interval={heartbeat_interval!r}: expected a positive integer (seconds) "
            "or None"
        )
    # without an interval given, the one served (stored, or the default) is known only once
    # the study is read: serving_heartbeat checks the grace period against it
    _check_grace(grace_period, heartbeat_interval)


def _check_grace(grace_period: Any, interval: int | None) -> None:
    if grace_period is not None and not (
        _is_int(grace_period) and (interval is None or grace_period > interval)
    ):
        shown = f" above heartbeat_interval ({interval})" if interval is not None else ""
        raise ValueError(
            f"grace_period={grace_period!r}: expected None or an integer number of seconds{shown}"
        )


def check_focus(space: SearchSpace, focus: Any) -> SearchSpace | None:
    """The subspace a study searches (None: the whole space), checked before anything is
    stored.

    Args:
        space: the study's space.
        focus: None, a dict of :meth:`SearchSpace.restrict` keywords (``fixed``,
            ``ranges``, ``choices``, ``items``), or a space restricted from ``space``.

    Raises:
        ValueError: one line naming the culprit: not a mapping, an unknown key or
            parameter, a value outside the space, a focus of another space, or an empty
            focus (one that restricts nothing).
    """
    if focus is None:
        return None
    if isinstance(focus, SearchSpace):
        if focus.encoding_fingerprint() != space.encoding_fingerprint():
            raise ValueError("focus: a restriction of another space (use space.restrict(...))")
        focus = focus.focus
    if not isinstance(focus, Mapping):
        raise ValueError(f"focus: expected a mapping of {list(FOCUS_KEYS)}, got {focus!r}")
    unknown = [str(k) for k in focus if k not in FOCUS_KEYS]
    if unknown:
        raise ValueError(f"focus: unknown key {unknown[0]!r} (one of {list(FOCUS_KEYS)})")
    sub = space.restrict(**{k: v for k, v in focus.items() if v is not None})
    if not sub.restricted:
        raise ValueError(
            f"focus: empty (it restricts no parameter); give one of {list(FOCUS_KEYS)}"
        )
    return sub


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


def stored_settings(
    learner: str,
    policy: str,
    n_init: int,
    batch_size: int,
    seed: int,
    timeout: float | None,
    heartbeat: dict[str, Any],
    focus: SearchSpace | None,
) -> dict[str, Any]:
    """The ``metarl:settings`` a study is created with (``metarl worker`` reads them)."""
    settings = {
        "learner": learner,
        "policy": policy,
        "n_init": n_init,
        "batch_size": batch_size,
        "seed": seed,
        "timeout": timeout,
        **heartbeat,  # workers must judge staleness as the proposing process does
    }
    if focus is not None:
        settings["focus"] = focus.focus
    return settings


def study_attrs(
    space: SearchSpace, metric: str, settings: dict[str, Any], trainer: dict[str, Any] | None
) -> list[tuple[str, Any]]:
    """The ``metarl:*`` attributes of a new study, in the order they are written: the
    fingerprint last, so that a study holding it holds them all."""
    attrs: list[tuple[str, Any]] = [
        (schema.SPACE, space.to_dict()),
        (schema.METRIC, metric),
        (schema.SETTINGS, settings),
    ]
    if trainer is not None:
        attrs.append((schema.TRAINER, trainer))
    attrs.append((schema.FINGERPRINT, space.fingerprint()))
    return attrs


def is_complete(user_attrs: Mapping[str, Any]) -> bool:
    """Whether a study's attributes are a whole metarl study (its creation finished)."""
    return all(k in user_attrs for k in REQUIRED) and _space_disagrees(user_attrs) is None


def _space_disagrees(user_attrs: Mapping[str, Any]) -> str | None:
    """Why a study's stored space does not match its stored fingerprint, in words (None:
    it matches)."""
    try:  # two creators with different spaces may interleave their writes
        rebuilt = SearchSpace.from_dict(user_attrs[schema.SPACE]).fingerprint()
    except (KeyError, TypeError, ValueError) as e:
        return f"cannot be read ({(str(e).splitlines() or [type(e).__name__])[0]})"
    if rebuilt != user_attrs.get(schema.FINGERPRINT):
        return f"has fingerprint {rebuilt}"
    return None


def _load_or_create(storage: BaseStorage, study_name: str, direction: str) -> optuna.Study:
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        pass
    try:
        return optuna.create_study(study_name=study_name, storage=storage, direction=direction)
    except optuna.exceptions.DuplicatedStudyError:  # another process created it meanwhile
        return optuna.load_study(study_name=study_name, storage=storage)


def create_or_load(
    storage: BaseStorage,
    study_name: str,
    space: SearchSpace,
    direction: str,
    metric: str,
    settings: dict[str, Any],
    trainer: dict[str, Any] | None,
) -> optuna.Study:
    """The Optuna study ``study_name``: created with metarl's attributes, adopted, or resumed.

    An incomplete study (no fingerprint: creation killed half-way, or made by
    ``optuna.create_study``) without trials is adopted: the attributes are written, as for
    a new study. Several processes may do this at once with the same settings.

    Raises:
        StorageError: a stored study of that name that holds trials but is not a metarl
            study, or has another space, direction or metric, or another trainer spec or
            timeout (what ``metarl worker`` serves it with; see :func:`resumed_differences`).
    """
    study = _load_or_create(storage, study_name, direction)
    stored_direction = study.direction.name.lower()
    # trials first, attributes second: a metarl study's creator writes them all before its
    # first trial, so trials with incomplete attributes are not a creation in progress
    n = len(study.get_trials(deepcopy=False))
    if not is_complete(study.user_attrs):
        attrs = study.user_attrs
        if n and all(k in attrs for k in REQUIRED):
            # a metarl study whose stored space does not rebuild to its stored fingerprint
            # (interleaved creators, another metarl's space rules): a space mismatch, as a
            # changed space is below; never "not a metarl study ... delete it"
            raise StorageError(
                f"study {study_name!r} exists with a different space (fingerprint "
                f"{attrs[schema.FINGERPRINT]} != {space.fingerprint()}; its stored space "
                f"{_space_disagrees(attrs)}); use another study_name"
            )
        if n:
            raise StorageError(
                f"study {study_name!r} exists with {n} trial(s) but is not a metarl study "
                "(no metarl settings; made by optuna.create_study?): use another study_name, "
                f"or delete it with: optuna delete-study --study-name {study_name} "
                "--storage URL"
            )
        if stored_direction != direction:
            raise StorageError(
                f"study {study_name!r} exists, empty, with direction {stored_direction!r}, "
                f"not {direction!r}: delete it (optuna delete-study --study-name "
                f"{study_name} --storage URL) or use another study_name"
            )
        for key, value in study_attrs(space, metric, settings, trainer):
            study.set_user_attr(key, value)
    attrs = study.user_attrs
    fp = space.fingerprint()
    stored = attrs.get(schema.FINGERPRINT)
    if not is_complete(attrs) or stored != fp:
        raise StorageError(
            f"study {study_name!r} exists with a different space "
            f"(fingerprint {stored} != {fp}); use another study_name"
        )
    if stored_direction != direction:
        raise StorageError(
            f"study {study_name!r} exists with direction {stored_direction!r}, not {direction!r}"
        )
    if attrs.get(schema.METRIC) != metric:
        raise StorageError(
            f"study {study_name!r} exists with metric {attrs.get(schema.METRIC)!r}, not {metric!r}"
        )
    differ = resumed_differences(attrs, settings, trainer)
    if differ:
        raise StorageError(
            f"study {study_name!r} exists with {differ}; metarl workers serve a study with "
            "its stored trainer and timeout, so a resume keeps them: resume with the stored "
            "ones, or use another study_name"
        )
    return study


def _plain(value: Any) -> Any:
    """``value`` as a JSON storage returns it (tuples as lists, keys as text)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def resumed_differences(
    attrs: Mapping[str, Any], settings: Mapping[str, Any], trainer: Mapping[str, Any] | None
) -> str | None:
    """What a resume would change of the trainer and timeout a stored study keeps for its
    workers (``metarl worker`` rebuilds ``metarl:trainer`` and reads ``timeout`` from
    ``metarl:settings``), in words; None when nothing.

    A trainer without a spec (a lambda, a function of the main script), or a study that
    stores none, is not compared: no worker can rebuild it either way. A task's ``seed``
    (set by ``metarl run`` from its ``seed`` key) is not compared either.
    """
    out = []
    stored = attrs.get(schema.TRAINER)
    if trainer is not None and isinstance(stored, Mapping):
        old, new = _plain(dict(stored)), _plain(dict(trainer))
        if (old.get("kind"), old.get("name")) != (new.get("kind"), new.get("name")):
            out.append(f"trainer {old.get('name')!r}, not {new.get('name')!r}")
        else:
            old_kw, new_kw = old.get("kwargs") or {}, new.get("kwargs") or {}
            if new.get("kind") == "task":
                # a task's only kwarg is the seed `metarl run` puts there (cli/_run.py: the
                # run's `seed` key, not a trainer_kwargs the user wrote): a resume with
                # another run seed goes through, as before the comparison existed
                old_kw, new_kw = _without_seed(old_kw), _without_seed(new_kw)
            for k in sorted(set(old_kw) | set(new_kw)):
                if old_kw.get(k, "(unset)") != new_kw.get(k, "(unset)"):
                    was, now = old_kw.get(k, "(unset)"), new_kw.get(k, "(unset)")
                    out.append(f"trainer_kwargs {k}={was!r}, not {now!r}")
    kept, given = attrs.get(schema.SETTINGS), settings.get("timeout")
    # a study stored before its settings held a timeout keeps the given one
    was = kept.get("timeout", given) if isinstance(kept, Mapping) else given
    if _plain(was) != _plain(given):
        out.append(f"timeout={was!r}, not {given!r}")
    return ", ".join(out) or None


def _without_seed(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != "seed"}


def stored_direction(storage: BaseStorage, study_name: str) -> str | None:
    """The direction of the metarl study ``study_name`` in ``storage`` (None: no such study,
    or one whose creation never completed)."""
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return None
    if not is_complete(storage.get_study_user_attrs(study_id)):
        return None
    return storage.get_study_directions(study_id)[0].name.lower()


def open_for_study(storage: Any, heartbeat: dict[str, Any]) -> BaseStorage:
    """:func:`open_storage` with the study's heartbeat settings (it retries the race of
    processes creating one new database's tables)."""
    return open_storage(storage, **heartbeat)


def missing_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist yet."""
    path = sqlite_path(url) if url.startswith("sqlite") else None
    return path is not None and not path.exists()


#: Seconds between heartbeats of a study that stores none and is given none.
DEFAULT_HEARTBEAT_INTERVAL = 5


def serving_heartbeat(
    storage: str | BaseStorage | None,
    study_name: str,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
) -> dict[str, Any]:
    """The heartbeat settings of a process that serves ``study_name`` (``Study``, ``metarl
    worker``): those stored in the study's ``metarl:settings``, so that every process judges
    a trial stale alike; the caller's for a study not stored yet (or one that stores none),
    with ``heartbeat_interval`` None meaning 5 s.

    A caller's value that differs from the stored one is ignored with one warning naming
    both.

    Args:
        storage: an RDB URL (read here); None or a storage object: nothing is read (a storage
            object keeps the heartbeat settings it was opened with).
        study_name: the study.
        heartbeat_interval, grace_period: the caller's settings (None: not given).
    """
    given = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
    stored = _stored_heartbeat(storage, study_name)
    if stored is None:
        interval = heartbeat_interval or DEFAULT_HEARTBEAT_INTERVAL
        _check_grace(grace_period, interval)
        return {**given, "heartbeat_interval": interval}
    differ = {k: v for k, v in given.items() if v is not None and v != stored[k]}
    if differ:
        warnings.warn(
            f"metarl: study {study_name!r} keeps its stored heartbeat settings {stored}; "
            f"{differ} ignored (every process serving a study judges staleness alike)",
            UserWarning,
            stacklevel=3,
        )
    return stored


def _stored_heartbeat(storage: Any, study_name: str) -> dict[str, Any] | None:
    if not isinstance(storage, str) or missing_sqlite(storage):
        return None
    try:
        settings = load_study_settings(storage, study_name).get(schema.SETTINGS) or {}
    except StorageError:  # no such study yet (a storage that cannot be opened fails later)
        return None
    if not isinstance(settings, Mapping) or not settings.get("heartbeat_interval"):
        return None
    return {
        "heartbeat_interval": settings["heartbeat_interval"],
        "grace_period": settings.get("grace_period"),
    }


def load_study_settings(storage: str | BaseStorage, study_name: str) -> dict[str, Any]:
    """The ``metarl:*`` attributes of a stored study (for ``metarl status`` and ``worker``).

    Raises:
        StorageError: no study of that name (the message lists the stored ones), or a
            storage that is not an Optuna storage (left unchanged: it only reads).
    """
    st = open_storage(storage, create=False)
    try:
        study = optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        raise StorageError(f"no study {study_name!r} in the storage (studies: {names})") from None
    return schema.metarl_attrs(study.user_attrs)
