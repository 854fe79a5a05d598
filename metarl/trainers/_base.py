"""The trainer contract: any callable ``config -> dict of metrics``, and how a call is made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from metarl.space import SearchSpace
from metarl.type_aliases import Config

if TYPE_CHECKING:
    from metarl.trainers._spec import TrainerSpec


@runtime_checkable
class Trainer(Protocol):
    """Anything that trains (or looks up) one config and returns its metrics.

    Any callable ``config -> dict[str, float]`` is a trainer (a plain number is read as the
    metric ``"value"``). A trainer may also say what it searches and what to optimise; the
    loop reads these optional attributes when present (named trainers, see
    :func:`~metarl.trainers.make_trainer`, have all three):

    Attributes:
        space: the :class:`~metarl.space.SearchSpace` its configs belong to (context set).
        metric: the metric to optimise by default (a key of the returned dict).
        direction: ``"minimize"`` or ``"maximize"`` for ``metric``.

    To run in another process (process pool, Dask, ``metarl worker``), a trainer must be
    picklable or named by a :class:`~metarl.trainers.TrainerSpec`.
    """

    def __call__(self, config: Config) -> Mapping[str, Any] | float:
        """Train ``config``; return every metric measured (the score, train_time, ...)."""
        ...


#: The result key of a trainer that continues a config from a checkpoint of a lower fidelity
#: (more epochs after fewer): the fidelity it continued from, 0 when it trained from scratch.
#: A trainer that returns it declares that it continues; its call's seconds are then only what
#: it spent now. Stored on the trial as this user attribute, as every metric.
CONTINUED_FROM = "metarl:continued_from"


class TrainerError(RuntimeError):
    """A trainer call that failed: raised, returned no finite metric, timed out, or its
    worker died. The message is what the failed trial stores as its reason."""


def call_trainer(trainer: Trainer | TrainerSpec, config: Config) -> dict[str, Any]:
    """Run one evaluation and return its metrics as a new dict.

    Args:
        trainer: a trainer, or a :class:`~metarl.trainers.TrainerSpec` (built, and cached, in
            this process).
        config: the config; the trainer gets a copy.

    Returns:
        The trainer's metrics; a non-mapping result ``x`` becomes ``{"value": x}``.
    """
    from metarl.trainers._spec import TrainerSpec

    fn = trainer.build() if isinstance(trainer, TrainerSpec) else trainer
    out = fn(dict(config))
    return dict(out) if isinstance(out, Mapping) else {"value": out}


def validated(space: SearchSpace, config: Config) -> Config:
    """``config`` without its context keys, after checking it belongs to ``space``.

    A config may carry context meta-features (pooled data of several studies); they must then
    equal the trainer's own.

    Raises:
        SpaceError: a value outside the space, a missing/extra key, or a foreign context.
    """
    from metarl.space import SpaceError

    if not isinstance(config, dict):
        raise SpaceError(f"a config must be a dict, got {type(config).__name__}")
    for name, value in space.context_values.items():
        if name in config and config[name] != value:
            raise SpaceError(
                f"config has context {name}={config[name]!r}, but this trainer's is {value!r}"
            )
    space.validate(config)
    return {k: v for k, v in config.items() if k not in space.context}
