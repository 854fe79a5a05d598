"""A study's settings: checking them, and creating or resuming the Optuna study that stores
them (the stored keys are :mod:`metarl.study._schema`'s)."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.storages import BaseStorage

from metarl.space import SearchSpace
from metarl.study import _schema as schema
from metarl.study._storage import StorageError, open_storage


def check_settings(
    direction: str, n_init: Any, batch_size: Any, timeout: float | None, n_workers: Any
) -> None:
    """Refuse bad loop settings before anything is stored.

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
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout={timeout!r}: expected a positive number of seconds")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def create_or_load(
    storage: BaseStorage,
    study_name: str,
    space: SearchSpace,
    direction: str,
    metric: str,
    settings: dict[str, Any],
    trainer: dict[str, Any] | None,
) -> optuna.Study:
    """The Optuna study ``study_name``: created with metarl's attributes, or resumed.

    Raises:
        StorageError: a stored study of that name that is not a metarl study, or has
            another space, direction or metric.
    """
    fp = space.fingerprint()
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        study = None
    if study is not None:
        attrs = study.user_attrs
        stored = attrs.get(schema.FINGERPRINT)
        if stored is None:
            raise StorageError(f"study {study_name!r} exists and is not a metarl study")
        if stored != fp:
            raise StorageError(
                f"study {study_name!r} exists with a different space "
                f"(fingerprint {stored} != {fp}); use another study_name"
            )
        if study.direction.name.lower() != direction:
            raise StorageError(
                f"study {study_name!r} exists with direction "
                f"{study.direction.name.lower()!r}, not {direction!r}"
            )
        if attrs.get(schema.METRIC) != metric:
            raise StorageError(
                f"study {study_name!r} exists with metric {attrs.get(schema.METRIC)!r}, "
                f"not {metric!r}"
            )
        return study
    study = optuna.create_study(study_name=study_name, storage=storage, direction=direction)
    study.set_user_attr(schema.SPACE, space.to_dict())
    study.set_user_attr(schema.FINGERPRINT, fp)
    study.set_user_attr(schema.METRIC, metric)
    study.set_user_attr(schema.SETTINGS, settings)
    if trainer is not None:
        study.set_user_attr(schema.TRAINER, trainer)
    return study


def load_study_settings(storage: str | BaseStorage, study_name: str) -> dict[str, Any]:
    """The ``metarl:*`` attributes of a stored study (for ``metarl status`` and ``worker``).

    Raises:
        StorageError: no study of that name (the message lists the stored ones).
    """
    st = open_storage(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        raise StorageError(f"no study {study_name!r} in the storage (studies: {names})") from None
    return schema.metarl_attrs(study.user_attrs)
