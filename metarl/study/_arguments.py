"""A :class:`~metarl.study.Study`'s arguments resolved into what it runs: the trainer's
defaults (space, metric), the learner built by name, the storage opened before the checks
that need it, and the direction a resumed study keeps.

Nothing here writes to the storage: a Study writes only once every argument has been
checked, so a bad one leaves no study behind.
"""

from __future__ import annotations

from typing import Any

from optuna.storages import BaseStorage

from metarl.space import SearchSpace
from metarl.study._settings import missing_sqlite, open_for_study, stored_direction
from metarl.trainers import Trainer, TrainerSpec


def label_of(strategy: Any) -> str:
    """The name a learner or policy is recorded under: its registry name, else its class's."""
    return strategy if isinstance(strategy, str) else type(strategy).__name__


def trainer_parts(
    trainer: Trainer | TrainerSpec | None, space: SearchSpace | None, metric: str | None
) -> tuple[TrainerSpec | None, Any, SearchSpace, str]:
    """The trainer's spec (None: no trainer), the trainer built, the space (default: the
    trainer's ``.space``) and the metric (default: the trainer's ``.metric``, else
    ``"value"``).

    Raises:
        ValueError: no space given and the trainer has none.
    """
    spec = TrainerSpec.of(trainer) if trainer is not None else None
    built = trainer.build() if isinstance(trainer, TrainerSpec) else trainer
    space = space if space is not None else getattr(built, "space", None)
    if not isinstance(space, SearchSpace):
        raise ValueError("space: none given and the trainer has no .space")
    return spec, built, space, metric or getattr(built, "metric", None) or "value"


def built_learner(learner: Any, learner_kwargs: dict[str, Any] | None) -> Any:
    """The learner as given, or built by :func:`~metarl.learners.make_learner` from its name
    and ``learner_kwargs``."""
    if not isinstance(learner, str):
        return learner
    from metarl.learners import make_learner

    return make_learner(learner, **(learner_kwargs or {}))


def open_existing(storage: Any, heartbeat: dict[str, Any]) -> BaseStorage | None:
    """The storage, opened before the arguments are checked (transfer sources may name its
    studies); None for a SQLite file that does not exist yet: it holds no study, and is not
    created until every argument has been checked."""
    if isinstance(storage, str) and missing_sqlite(storage):
        return None
    return open_for_study(storage, heartbeat)


def resumed_direction(
    opened: BaseStorage | None, study_name: str, direction: str, why: str | None
) -> tuple[str, str | None]:
    """The direction and why (None: the caller's choice): a resumed study keeps its stored
    direction unless the caller chose one."""
    if why is not None and opened is not None:
        kept = stored_direction(opened, study_name)
        if kept is not None:
            return kept, "the stored study's"
    return direction, why
