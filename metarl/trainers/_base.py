"""The trainer contract: any callable ``config -> dict of metrics``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from metarl.space import SearchSpace
from metarl.type_aliases import Config, Direction


@runtime_checkable
class Trainer(Protocol):
    """Anything that trains (or looks up) one config and returns its metrics.

    In Python any callable ``config -> dict[str, float]`` works where a trainer is expected.
    A named trainer (see :func:`~metarl.trainers.make_trainer`) also tells what it searches
    and what to optimise:

    Attributes:
        space: the search space its configs belong to (context meta-features set).
        metric: the metric to optimise by default (a key of the returned dict).
        direction: ``"minimize"`` or ``"maximize"`` for ``metric``.
    """

    space: SearchSpace
    metric: str
    direction: Direction

    def __call__(self, config: Config) -> dict[str, float]:
        """Train ``config``; return every metric measured (the score, train_time, ...)."""
        ...


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
