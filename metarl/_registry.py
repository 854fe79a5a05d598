"""One registry for every pluggable kind (learners, policies, trainers): names to lazily
imported classes or factories, plus what installed packages publish as entry points.

The rules, the same for every kind:

- a target is an object or a lazy ``"module:attr"`` string, imported on first use, so that
  ``import metarl`` does not import every library behind a name (torch, SB3, ...);
- registering a taken name raises ``ValueError`` unless ``overwrite=True``; registering the
  very same target again is a no-op, so a plug-in module may be imported twice;
- names registered in code take precedence over entry points of the same name; entry points
  are read when a name is not registered in code (never cached, so a package installed
  during a session is seen);
- an unknown name raises ``ValueError`` listing :meth:`Registry.available`;
- a target that cannot be imported raises ``ImportError`` naming the name, the target and,
  for an entry point, its group and distribution;
- a target of the wrong kind raises ``TypeError``; keywords the target does not accept raise
  ``ValueError`` listing those it does.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to classes or factories of one kind, with lazy imports and entry points.

    Args:
        kind: what a name stands for, in messages (``"learner"``).
        group: the entry-point group outside packages publish under (``"metarl.learners"``).
        base: targets must be subclasses of it; ``None``: any callable.
        builtins: the names shipped with metarl, as lazy ``"module:attr"`` strings.

    Example::

        LEARNERS = Registry("learner", "metarl.learners", MetaLearner, {"gp": "m._gp:GP"})
        LEARNERS.make("gp", random_state=0)
    """

    def __init__(
        self,
        kind: str,
        group: str,
        base: type | None = None,
        builtins: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self.base = base
        # what was registered, as given (compared on re-registration), and what it resolved to
        self._targets: dict[str, T | str] = dict(builtins or {})
        self._loaded: dict[str, T] = {}

    def copy(self) -> Registry[T]:
        """An independent registry with the same names (nothing resolved yet)."""
        new: Registry[T] = Registry(self.kind, self.group, self.base)
        new._targets = dict(self._targets)
        return new

    @property
    def _expected(self) -> str:
        return "a callable" if self.base is None else f"a {self.base.__name__} subclass"

    def _check(self, name: str, obj: Any, origin: str) -> T:
        if self.base is None:
            ok = callable(obj)
        else:
            ok = isinstance(obj, type) and issubclass(obj, self.base)
        if not ok:
            raise TypeError(f"{self.kind} {name!r}: {origin} is not {self._expected}")
        return obj

    def register(self, name: str, target: T | str, *, overwrite: bool = False) -> None:
        """Make ``make(name)`` build ``target`` (an object, or a lazy ``"module:attr"``).

        Raises:
            ValueError: ``name`` is empty or taken (unless ``overwrite``), or a string
                target is not ``"module:attr"``.
            TypeError: ``target`` is neither a string nor of this registry's kind.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._targets and not overwrite:
            if self._targets[name] == target:
                return
            raise ValueError(
                f"{self.kind} {name!r} is already registered (pass overwrite=True to replace it)"
            )
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            if not module or not attr:
                raise ValueError(f"{self.kind} {name!r}: expected 'module:attr', got {target!r}")
        else:
            self._check(name, target, f"{target!r}")
        self._targets[name] = target
        self._loaded.pop(name, None)

    def _entry_points(self) -> dict[str, EntryPoint]:
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=self.group):
            found.setdefault(ep.name, ep)  # the same package twice on the path: the first
        return found

    def available(self) -> list[str]:
        """Every name :meth:`make` accepts: registered in code, and from entry points."""
        return sorted(set(self._targets) | set(self._entry_points()))

    def __contains__(self, name: object) -> bool:
        return name in self._targets or name in self._entry_points()

    def get(self, name: str) -> T:
        """The class or factory registered as ``name``, imported if needed.

        Raises:
            ValueError: an unknown name (the message lists the available ones).
            ImportError: the target cannot be imported.
            TypeError: the target is not of this registry's kind.
        """
        if name in self._loaded:
            return self._loaded[name]
        load: Callable[[], Any]
        if name in self._targets:
            target = self._targets[name]
            origin = repr(target)
            load = (lambda: _import(target)) if isinstance(target, str) else (lambda: target)
        else:
            ep = self._entry_points().get(name)
            if ep is None:
                raise ValueError(
                    f"unknown {self.kind} {name!r}; available: {', '.join(self.available())}"
                )
            dist = getattr(ep, "dist", None)
            package = f", package {dist.name!r}" if dist is not None else ""
            origin = f"entry point {ep.name!r} = {ep.value!r} (group {self.group!r}{package})"
            load = ep.load
        try:
            obj = load()
        except (ImportError, AttributeError) as e:
            raise ImportError(f"{self.kind} {name!r}: cannot import {origin}: {e}") from e
        self._loaded[name] = self._check(name, obj, origin)
        return self._loaded[name]

    def make(self, name: str, **kwargs: Any) -> Any:
        """Call the target registered as ``name`` with ``kwargs`` (build the object).

        Raises:
            ValueError: an unknown name, or a keyword the target does not accept (the
                message lists those it does).
            ImportError, TypeError: see :meth:`get`.
        """
        factory: Callable[..., Any] = self.get(name)  # type: ignore[assignment]
        _check_keywords(self.kind, name, factory, kwargs)
        return factory(**kwargs)


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _check_keywords(kind: str, name: str, factory: Callable[..., Any], kwargs: dict) -> None:
    """Refuse unknown keywords before the call, so that a TypeError raised inside the
    constructor is never mistaken for the caller's typo."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return
    try:
        sig.bind_partial(**kwargs)
    except TypeError as e:
        accepted = [
            p.name
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        listed = ", ".join(accepted) or "none"
        raise ValueError(f"{kind} {name!r}: {e}; accepted: {listed}") from None
