"""Time limits of trainer calls: fixed, or the adaptive default that fails hung calls.

A trainer call that never returns would hold its worker (and its trial's heartbeat) forever,
so every executor applies a limit even when none is given: :class:`AutoTimeout`.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from metarl.trainers import TrainerError


@dataclass
class AutoTimeout:
    """The default limit of a trainer call (``timeout=None``): long enough for slow configs,
    short enough that a hung call never stalls a study.

    Before any call of the executor has succeeded, a call may run ``initial`` seconds (one
    hour); after, ``max(floor, factor * slowest)``, where ``slowest`` is the longest
    successful call so far (10 times it, at least a minute). A call's limit follows
    ``slowest`` while it runs. Pass a number as ``timeout`` for a fixed limit, or ``math.inf``
    for none.

    Attributes:
        floor: the least limit once a call has succeeded (seconds).
        factor: the limit as a multiple of the slowest successful call.
        initial: the limit while no call has succeeded yet (seconds).
    """

    floor: float = 60.0
    factor: float = 10.0
    initial: float = 3600.0
    slowest: float | None = field(default=None, init=False)

    def observe(self, seconds: float) -> None:
        """Record a successful call's duration."""
        if self.slowest is None or seconds > self.slowest:
            self.slowest = float(seconds)

    def limit(self) -> float:
        """The current limit in seconds."""
        if self.slowest is None:
            return self.initial
        return max(self.floor, self.factor * self.slowest)

    def reason(self, limit: float) -> str:
        """Why a call was stopped at ``limit`` (stored as the trial's error)."""
        if self.slowest is None:
            rule = f"the default limit before any call has succeeded, {self.initial:g} s"
        else:
            rule = (
                f"the default limit: {self.factor:g} x the slowest successful call "
                f"({self.slowest:.3g} s), at least {self.floor:g} s"
            )
        return f"timed out after {limit:.3g} s ({rule}; set timeout to change it)"


class Limit:
    """The limit of one call: ``timeout`` seconds, or the executor's :class:`AutoTimeout`."""

    def __init__(self, timeout: float | None, auto: AutoTimeout) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout={timeout!r}: expected a positive number of seconds")
        self._timeout, self._auto = timeout, auto

    def seconds(self) -> float:
        return self._auto.limit() if self._timeout is None else float(self._timeout)

    def error(self, limit: float) -> TrainerError:
        if self._timeout is None:
            return TrainerError(self._auto.reason(limit))
        return TrainerError(f"timed out after {limit:g} s")


def settle(fut: cf.Future, value: Any = None, error: BaseException | None = None) -> bool:
    """Resolve ``fut`` unless it already is (a timeout and a late result may race); return
    whether this call resolved it."""
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)
    except cf.InvalidStateError:
        return False
    return True


def watch(fut: cf.Future, limit: Limit, on_timeout: Callable[[], bool] | None = None) -> None:
    """Fail ``fut`` with the limit's reason once it has run past the limit.

    The limit is read again when it is reached, since an :class:`AutoTimeout` may have grown
    meanwhile. ``on_timeout`` (stop the call) runs first; returning False means the call
    finished in the meantime and ``fut`` is left alone.
    """
    start = time.monotonic()

    def check() -> None:
        if fut.done():
            return
        seconds = limit.seconds()
        left = seconds - (time.monotonic() - start)
        if left > 0:
            arm(left)
        elif on_timeout is None or on_timeout():
            settle(fut, error=limit.error(seconds))

    def arm(delay: float) -> None:
        if math.isinf(delay):
            return
        timer = threading.Timer(delay, check)
        timer.daemon = True  # a pending limit must never keep the interpreter alive
        timer.start()
        fut.add_done_callback(lambda _: timer.cancel())

    arm(limit.seconds())
