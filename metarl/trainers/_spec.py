"""A trainer by name, so that any process (pool child, Dask worker, ``metarl worker``) can
rebuild it from a study's stored ``metarl:trainer`` attribute."""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metarl.trainers._base import Trainer

_KINDS = ("trainer", "task", "import")
_BUILT: dict[str, Trainer] = {}  # per process: a trainer is built once, then reused


@dataclass(frozen=True)
class TrainerSpec:
    """A rebuildable trainer.

    Attributes:
        kind: ``"trainer"`` (``metarl.trainers.make_trainer(name, **kwargs)``), ``"task"``
            (``metarl.benchmarks.load_task(name, **kwargs)``, imported only then) or
            ``"import"`` (``name`` is ``"module:attribute"``; called with ``kwargs`` when
            given).
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
        """A canonical text of the spec (the cache key of :meth:`build`)."""
        return json.dumps([self.kind, self.name, dict(self.kwargs)], sort_keys=True, default=str)

    def build(self) -> Trainer:
        """The trainer (cached in this process).

        Raises:
            ValueError: the name cannot be resolved or imported (whatever the module raises
                while importing: one line naming the trainer and the error's type), or its
                factory fails.
        """
        if self.key in _BUILT:
            return _BUILT[self.key]
        if self.kind == "trainer":
            from metarl.trainers._registry import make_trainer

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
            except Exception as e:  # the module's own code failed (RuntimeError, SyntaxError...)
                raise ValueError(
                    f"trainer {self.name!r} cannot be imported: {_one_line(e)}"
                ) from None
            if self.kwargs:
                try:
                    obj = obj(**self.kwargs)
                except Exception as e:  # noqa: BLE001 - whatever the factory raises
                    raise ValueError(
                        f"trainer {self.name!r} cannot be built: {_one_line(e)}"
                    ) from None
        _BUILT[self.key] = obj
        return obj

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in a study's ``metarl:trainer`` attribute."""
        return {"kind": self.kind, "name": self.name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainerSpec:
        """The spec of :meth:`to_dict`'s form."""
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


def _one_line(e: BaseException) -> str:
    """``Type: first line of the message`` (a SyntaxError's says file and line)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__
