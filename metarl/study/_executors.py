"""Where trainer calls run: a local process pool (default), threads, or a Dask cluster
(:mod:`metarl.study._dask`).

Every executor turns ``submit(trainer, config, timeout)`` into a
``concurrent.futures.Future`` whose result is the trainer's metrics dict, or whose exception is
a :class:`~metarl.trainers.TrainerError` carrying the reason (trainer raised, process died,
timed out), or a :class:`PoolError` when no trainer ran (a pool process could not start, or
the call could not be sent to it). ``timeout=None`` applies the executor's
:class:`~metarl.study.AutoTimeout`, so a hung call fails and frees its worker whatever the
settings.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import pickle
import queue
import signal
import threading
import time
import traceback
from abc import ABC, abstractmethod
from multiprocessing.reduction import ForkingPickler
from typing import Any

from metarl.study._schema import SECONDS
from metarl.study._timeout import AutoTimeout, Limit, settle, watch
from metarl.trainers import Trainer, TrainerError, TrainerSpec, call_trainer
from metarl.type_aliases import Config

EXECUTORS = ("process", "thread", "dask", "none")


class Executor(ABC):
    """Runs trainer calls; ``n_workers`` calls at a time.

    Attributes:
        n_workers: calls in flight at a time.
        default_timeout: the limit of calls submitted with ``timeout=None``.
    """

    n_workers: int = 1
    default_timeout: AutoTimeout

    @abstractmethod
    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        """Start one evaluation; the future resolves to the metrics dict.

        Args:
            trainer: the trainer, or its spec (required by processes elsewhere).
            config: the config.
            timeout: seconds the call may run (``math.inf``: no limit); None applies
                ``default_timeout``.
        """

    def shutdown(self) -> None:  # noqa: B027 - nothing to release by default
        """Release workers."""

    def _succeeded(self, result: dict[str, Any]) -> None:
        self.default_timeout.observe(result.get(SECONDS, 0.0))

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def timed_call(trainer: Trainer | TrainerSpec, config: Config) -> dict[str, Any]:
    """:func:`~metarl.trainers.call_trainer`, plus the call's wall-clock seconds under
    ``metarl:seconds``; what every executor runs."""
    t0 = time.perf_counter()
    result = call_trainer(trainer, config)
    result[SECONDS] = time.perf_counter() - t0
    return result


def error_text(e: BaseException) -> str:
    """The last line of an exception's report (``ValueError: bad lr``): a failure's reason."""
    return traceback.format_exception_only(type(e), e)[-1].strip()


class PoolError(RuntimeError):
    """The process pool could not run a call at all: its worker process did not start, or
    the call could not be sent to it. No trainer ran, so the trial is lost (re-queued), not
    the trainer's failure; the loop stops with this error, since every call would meet it."""


def unpicklable(target: Any) -> str | None:
    """Why the process executor cannot send ``target`` to its workers (None: it can)."""
    try:
        pickle.dumps(target)
    except Exception as e:  # noqa: BLE001 - pickling raises many kinds
        return error_text(e)
    return None


#: What to do when a worker process cannot start because the script it imports (spawn
#: re-imports ``__main__``) starts a study at import time.
GUARD_HINT = (
    'put the code that runs the study under `if __name__ == "__main__":` (worker '
    "processes import the main script), or use executor='thread'"
)


def _child_main(conn: Any) -> None:
    """Loop of a pool process: say "ready" once its imports are done, then receive
    (trainer, config) and send back ("ok"|"error", payload)."""
    # Ctrl-C reaches the whole process group: the parent decides what an interrupted call
    # means, so the child must not report it as the trainer's failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        trainer, config = msg
        try:
            conn.send(("ok", timed_call(trainer, config)))
        except BaseException as e:  # noqa: BLE001 - everything a trainer raises is a failure
            conn.send(("error", error_text(e)))


class ProcessExecutor(Executor):
    """A pool of long-lived worker processes; a call past its limit kills its process.

    Each process builds a trainer once (by :class:`~metarl.trainers.TrainerSpec`) and reuses
    it; a killed or crashed process is replaced by a fresh one for the next call. A call's
    limit starts when its process is ready (interpreter started, metarl imported), so
    start-up is never counted against the trainer. Trainers must be picklable (a spec or a
    module-level function). A process that died while idle (killed between calls) is
    replaced before the call is sent to it. A call that cannot be pickled, or a fresh
    process that cannot start or take the call, fails the call with :class:`PoolError` (no
    trainer ran: the call is lost, not failed).

    Args:
        n_workers: number of processes.
        start_method: multiprocessing start method (``spawn`` is safe with threads).
        default_timeout: the limit of calls without a ``timeout`` (default
            :class:`~metarl.study.AutoTimeout`).
    """

    #: seconds a new worker process may take to start and import metarl
    startup_timeout: float = 120.0

    def __init__(
        self,
        n_workers: int = 2,
        start_method: str = "spawn",
        default_timeout: AutoTimeout | None = None,
    ) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers={n_workers}: the process executor needs at least 1")
        if getattr(mp.current_process(), "_inheriting", False):
            # a spawned worker is importing the user's script, which starts a study again
            raise RuntimeError(
                f"metarl: a study started while a worker process imported "
                f"the main script; {GUARD_HINT}"
            )
        self.n_workers = n_workers
        self.default_timeout = default_timeout or AutoTimeout()
        self._ctx = mp.get_context(start_method)
        self._jobs: queue.Queue = queue.Queue()
        self._procs: list[Any] = [None] * n_workers
        self._closed = False
        self._threads = [
            threading.Thread(target=self._slot, args=(i,), daemon=True) for i in range(n_workers)
        ]
        for t in self._threads:
            t.start()

    def _start(self, i: int) -> tuple[Any, Any]:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_child_main, args=(child,), daemon=True)
        proc.start()
        child.close()
        self._procs[i] = (proc, parent)
        if not parent.poll(self.startup_timeout):  # a dead child's pipe polls True (EOF)
            self._stop(i)
            raise TrainerError(f"worker process did not start within {self.startup_timeout:g} s")
        try:
            ready = parent.recv()[0] == "ready"
        except EOFError:  # it died importing: most often an unguarded script
            ready = False
        if not ready:
            proc.join(5)
            self._stop(i)
            raise TrainerError(
                f"worker process exited before it was ready (exit code {proc.exitcode}); "
                f"{GUARD_HINT}"
            )
        return proc, parent

    def _stop(self, i: int) -> None:
        if self._procs[i] is None:
            return
        proc, conn = self._procs[i]
        self._procs[i] = None
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()

    def _fresh(self, i: int) -> tuple[Any, Any]:
        """Start slot ``i``'s process (a failure is a :class:`PoolError`)."""
        try:
            return self._start(i)
        except (TrainerError, EOFError, OSError) as e:
            raise PoolError(f"cannot start a worker process: {e}") from e

    def _send(self, i: int, payload: bytes) -> tuple[Any, Any]:
        """Send a pickled call to slot ``i``'s process; returns (process, connection).

        A process that served earlier calls and died while idle (killed between calls, as
        by the OOM killer) is no call's failure: it is replaced by a fresh one, which gets
        the call. Only a fresh process that cannot start or take the call is a
        :class:`PoolError`."""
        running = self._procs[i]
        if running is not None and not running[0].is_alive():
            self._stop(i)  # died while idle
        elif running is not None:
            proc, conn = running
            try:
                conn.send_bytes(payload)
                return proc, conn
            except (EOFError, OSError):  # it died since (broken pipe, connection reset)
                self._stop(i)
        if self._closed:  # shutdown killed it: start no other
            raise cf.CancelledError
        proc, conn = self._fresh(i)
        if self._closed:  # shut down while it started (its stop may have missed it)
            self._stop(i)
            raise cf.CancelledError
        try:
            conn.send_bytes(payload)
        except (EOFError, OSError) as e:
            self._stop(i)
            if self._closed:  # shutdown killed it between the check and the send
                raise cf.CancelledError from e
            raise PoolError(f"cannot send the call to a worker process: {error_text(e)}") from e
        return proc, conn

    def _wait(self, conn: Any, limit: Limit) -> tuple[Any, float]:
        """The child's reply, or (None, limit) once the call has run past its limit (read
        again every few seconds: an :class:`AutoTimeout` grows as other calls finish)."""
        start = time.monotonic()
        while True:
            seconds = limit.seconds()
            left = seconds - (time.monotonic() - start)
            if left <= 0:
                return None, seconds
            if conn.poll(min(left, 2.0)):
                return conn.recv(), seconds

    def _slot(self, i: int) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fut, trainer, config, limit = job
            if self._closed:
                fut.cancel()
                continue
            if not fut.set_running_or_notify_cancel():
                continue
            try:  # pickled here, once: a failure is the call's, whatever process takes it
                payload = bytes(ForkingPickler.dumps((trainer, config)))
            except Exception as e:  # noqa: BLE001 - unpicklable trainer or config
                why = error_text(e)
                settle(fut, error=PoolError(f"cannot send the call to a worker process: {why}"))
                continue
            try:
                proc, conn = self._send(i, payload)
            except (PoolError, cf.CancelledError) as e:
                settle(fut, error=cf.CancelledError() if self._closed else e)
                continue
            try:
                msg, seconds = self._wait(conn, limit)
            except (EOFError, OSError):
                if self._closed:  # killed by shutdown: the call was lost, not the trainer's
                    settle(fut, error=cf.CancelledError())
                    continue
                code = proc.exitcode
                settle(fut, error=TrainerError(f"worker process died (exit code {code})"))
                self._stop(i)
                continue
            if msg is None:
                self._stop(i)  # kill the hung trainer
                settle(fut, error=limit.error(seconds))
            elif msg[0] == "ok":
                self._succeeded(msg[1])
                settle(fut, msg[1])
            else:
                settle(fut, error=TrainerError(msg[1]))

    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        if self._closed:
            raise RuntimeError("executor is shut down")
        fut: cf.Future = cf.Future()
        self._jobs.put((fut, trainer, config, Limit(timeout, self.default_timeout)))
        return fut

    def shutdown(self) -> None:
        """Cancel the calls not yet started, and kill the running ones (their futures raise
        ``CancelledError``: lost, not failed)."""
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)
        for i in range(self.n_workers):
            self._stop(i)  # unblocks a slot waiting on a running call
        for t in self._threads:
            t.join(timeout=5)


class _ThreadCall:
    """One call of a :class:`ThreadExecutor`: who owns its outcome, the call or its limit."""

    def __init__(self, fut: cf.Future, trainer: Any, config: Config, limit: Limit) -> None:
        self.fut, self.trainer, self.config, self.limit = fut, trainer, config, limit
        self.lock = threading.Lock()
        self.finished = False
        self.abandoned = False


class ThreadExecutor(Executor):
    """Trainer calls in daemon threads of this process (any callable, picklable or not).

    A thread cannot be killed: a call past its limit is failed and abandoned (it runs on,
    its result is dropped), and a fresh thread takes its place, so a hung call never holds
    the executor. The threads are daemons, so an abandoned call never keeps the interpreter
    from exiting.

    Args:
        n_workers: calls in flight at a time.
        default_timeout: the limit of calls without a ``timeout`` (default
            :class:`~metarl.study.AutoTimeout`).
    """

    def __init__(self, n_workers: int = 1, default_timeout: AutoTimeout | None = None) -> None:
        self.n_workers = max(1, n_workers)
        self.default_timeout = default_timeout or AutoTimeout()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._n_threads = 0
        for _ in range(self.n_workers):
            self._spawn()

    def _spawn(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._n_threads += 1
            name = f"metarl-trainer-{self._n_threads}"
        threading.Thread(target=self._worker, daemon=True, name=name).start()

    def _worker(self) -> None:
        while True:
            call = self._jobs.get()
            if call is None:
                return
            if not call.fut.set_running_or_notify_cancel():
                continue
            watch(call.fut, call.limit, on_timeout=lambda c=call: self._abandon(c))
            try:
                result, error = timed_call(call.trainer, call.config), None
            except BaseException as e:  # noqa: BLE001 - everything a trainer raises is a failure
                result, error = None, e
            with call.lock:
                call.finished = True
                if call.abandoned:
                    return  # a fresh thread took this one's place; the result is dropped
            if error is None:
                self._succeeded(result)
                settle(call.fut, result)
            else:
                err = error if isinstance(error, TrainerError) else TrainerError(error_text(error))
                settle(call.fut, error=err)

    def _abandon(self, call: _ThreadCall) -> bool:
        with call.lock:
            if call.finished:
                return False
            call.abandoned = True
        self._spawn()
        return True

    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        if self._closed:
            raise RuntimeError("executor is shut down")
        fut: cf.Future = cf.Future()
        self._jobs.put(_ThreadCall(fut, trainer, config, Limit(timeout, self.default_timeout)))
        return fut

    def shutdown(self) -> None:
        """Cancel the calls not yet started; running calls finish in their daemon threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            n = self._n_threads
        while True:
            try:
                call = self._jobs.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                call.fut.cancel()
        for _ in range(n):
            self._jobs.put(None)


def make_executor(name: str | Executor, n_workers: int = 2, **kwargs: Any) -> Executor:
    """An executor by name: ``process`` (default), ``thread`` or ``dask``.

    Keyword arguments go to the executor (``default_timeout``, ``start_method``, ``client``).

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(name, Executor):
        return name
    if name == "process":
        return ProcessExecutor(n_workers, **kwargs)
    if name == "thread":
        return ThreadExecutor(n_workers, **kwargs)
    if name == "dask":
        from metarl.study._dask import DaskExecutor

        return DaskExecutor(n_workers=n_workers or None, **kwargs)
    raise ValueError(f"unknown executor {name!r}: expected one of {list(EXECUTORS)}")
