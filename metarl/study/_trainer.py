"""Trainers as the loop sees them: something a worker process anywhere can rebuild and call.

A trainer is any callable ``config -> dict of metrics`` (a number is read as the objective
metric). A :class:`TrainerSpec` names one so that process-pool children, Dask workers and
``metarl worker`` processes rebuild it from the study's user attributes.
"""

from __future__ import annotations

import importlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metarl.study._schema import PREFIX, SECONDS
from metarl.type_aliases import Config

Trainer = Callable[[Config], Any]

_KINDS = ("trainer", "task", "import")
_BUILT: dict[str, Trainer] = {}  # per process: a trainer is built once, then reused


class TrainerError(RuntimeError):
    """A trainer call that failed: raised, returned no finite metric, or timed out."""


@dataclass(frozen=True)
class TrainerSpec:
    """A rebuildable trainer.

    Attributes:
        kind: ``"trainer"`` (``metarl.trainers.make_trainer(name, **kwargs)``), ``"task"``
            (``metarl.benchmarks.load_task(name, **kwargs)``) or ``"import"`` (``name`` is
            ``"module:attribute"``; called with ``kwargs`` when given).
        name: the registered name, task name or import path.
        kwargs: keyword arguments of the constructor.
    """

    kind: str
    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"trainer kind {self.kind!r}: expected one of {list(_KINDS)}")

    @property
    def key(self) -> str:
        import json

        return json.dumps([self.kind, self.name, dict(self.kwargs)], sort_keys=True, default=str)

    def build(self) -> Trainer:
        """The trainer (cached in this process)."""
        if self.key in _BUILT:
            return _BUILT[self.key]
        if self.kind == "trainer":
            from metarl.trainers import make_trainer

            obj = make_trainer(self.name, **self.kwargs)
        elif self.kind == "task":
            from metarl.benchmarks import load_task

            obj = load_task(self.name, **self.kwargs)
        else:
            module, _, attr = self.name.partition(":")
            if not attr:
                raise ValueError(f"trainer {self.name!r}: expected 'module:attribute'")
            try:
                obj = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise ValueError(f"trainer {self.name!r} cannot be imported: {e}") from None
            if self.kwargs:
                obj = obj(**self.kwargs)
        _BUILT[self.key] = obj
        return obj

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainerSpec:
        return cls(d["kind"], d["name"], dict(d.get("kwargs") or {}))

    @classmethod
    def of(cls, trainer: Any) -> TrainerSpec | None:
        """The spec of a callable importable by module path (None for lambdas, locals...)."""
        if isinstance(trainer, TrainerSpec):
            return trainer
        module = getattr(trainer, "__module__", None)
        qualname = getattr(trainer, "__qualname__", None)
        if not module or not qualname or module == "__main__" or "<" in qualname:
            return None
        try:
            if getattr(importlib.import_module(module), qualname, None) is trainer:
                return cls("import", f"{module}:{qualname}")
        except ImportError:
            return None
        return None


def call_trainer(trainer: Trainer | TrainerSpec, config: Config) -> dict[str, Any]:
    """Run one evaluation; returns the trainer's metrics plus ``metarl:seconds``."""
    fn = trainer.build() if isinstance(trainer, TrainerSpec) else trainer
    t0 = time.perf_counter()
    out = fn(dict(config))
    seconds = time.perf_counter() - t0
    if not isinstance(out, Mapping):
        out = {"value": out}
    result = dict(out)
    result[SECONDS] = seconds
    return result


def objective_value(result: Mapping[str, Any], metric: str) -> float:
    """The finite objective value of a trainer result.

    Raises:
        TrainerError: the metric is missing, not a number, NaN or infinite.
    """
    if metric not in result:
        if "value" in result and len([k for k in result if not k.startswith(PREFIX)]) == 1:
            v = result["value"]
        else:
            keys = sorted(k for k in result if not k.startswith(PREFIX))
            raise TrainerError(f"trainer result has no metric {metric!r} (keys: {keys})")
    else:
        v = result[metric]
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise TrainerError(f"trainer returned {metric}={v!r}, not a number") from None
    if not math.isfinite(x):
        raise TrainerError(f"trainer returned {metric}={x}")
    return x


def storable(result: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-storable part of a trainer result (numpy scalars to Python, others to str)."""
    import numpy as np

    out: dict[str, Any] = {}
    for k, v in result.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)
        if not isinstance(v, (str, int, float, bool, type(None))):
            try:  # lists and dicts of plain values pass; anything else is stored as text
                json.dumps(v)
            except (TypeError, ValueError):
                v = repr(v)
        out[str(k)] = v
    return out
