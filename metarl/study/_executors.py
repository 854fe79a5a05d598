"""Where trainer calls run: a local process pool (default), threads, or a Dask cluster.

Every executor turns ``submit(trainer, config, timeout)`` into a
``concurrent.futures.Future`` whose result is the trainer's metrics dict, or whose exception is
a :class:`TrainerError` carrying the error text (trainer raised, process died, timed out).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import queue
import threading
import time
import traceback
from abc import ABC, abstractmethod
from typing import Any

from metarl.study._schema import SECONDS
from metarl.trainers import Trainer, TrainerError, TrainerSpec, call_trainer
from metarl.type_aliases import Config

EXECUTORS = ("process", "thread", "dask", "none")


class Executor(ABC):
    """Runs trainer calls; ``n_workers`` calls at a time."""

    n_workers: int = 1

    @abstractmethod
    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        """Start one evaluation; the future resolves to the metrics dict."""

    def shutdown(self) -> None:  # noqa: B027 - nothing to release by default
        """Release workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _settle(fut: cf.Future, value: Any = None, error: BaseException | None = None) -> None:
    """Resolve ``fut`` unless it already is (a timeout and a late result may race)."""
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)
    except cf.InvalidStateError:
        pass


def _arm_timeout(fut: cf.Future, timeout: float | None, on_timeout: Any = None) -> None:
    if timeout is None:
        return

    def fire() -> None:
        if not fut.done():
            if on_timeout is not None:
                on_timeout()
            _settle(fut, error=TrainerError(f"timed out after {timeout:g} s"))

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    fut.add_done_callback(lambda _: timer.cancel())


def timed_call(trainer: Trainer | TrainerSpec, config: Config) -> dict[str, Any]:
    """:func:`~metarl.trainers.call_trainer`, plus the call's wall-clock seconds under
    ``metarl:seconds``; what every executor runs."""
    t0 = time.perf_counter()
    result = call_trainer(trainer, config)
    result[SECONDS] = time.perf_counter() - t0
    return result


def _child_main(conn: Any) -> None:
    """Loop of a pool process: say "ready" once its imports are done, then receive
    (trainer, config) and send back ("ok"|"error", payload)."""
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
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            conn.send(("error", tb))


class ProcessExecutor(Executor):
    """A pool of long-lived worker processes; a call past its timeout kills its process.

    Each process builds a trainer once (by :class:`TrainerSpec`) and reuses it; a killed or
    crashed process is replaced by a fresh one for the next call. A call's timeout starts when
    its process is ready (interpreter started, metarl imported), so start-up is never counted
    against the trainer. Trainers must be picklable (a :class:`TrainerSpec` or a module-level
    function).

    Args:
        n_workers: number of processes.
        start_method: multiprocessing start method (``spawn`` is safe with threads).
    """

    #: seconds a new worker process may take to start and import metarl
    startup_timeout: float = 120.0

    def __init__(self, n_workers: int = 2, start_method: str = "spawn") -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers={n_workers}: the process executor needs at least 1")
        self.n_workers = n_workers
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
        if not parent.poll(self.startup_timeout) or parent.recv()[0] != "ready":
            self._stop(i)
            raise TrainerError(f"worker process did not start within {self.startup_timeout:g} s")
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

    def _slot(self, i: int) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fut, trainer, config, timeout = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                proc, conn = self._procs[i] or self._start(i)
            except (TrainerError, EOFError, OSError) as e:
                _settle(fut, error=TrainerError(f"cannot start a worker process: {e}"))
                continue
            try:
                conn.send((trainer, config))
            except Exception as e:  # noqa: BLE001 - unpicklable trainer or config
                _settle(fut, error=TrainerError(f"cannot send the call to a worker: {e}"))
                self._stop(i)
                continue
            try:
                ready = conn.poll(timeout)
                msg = conn.recv() if ready else None
            except (EOFError, OSError):
                code = proc.exitcode
                _settle(fut, error=TrainerError(f"worker process died (exit code {code})"))
                self._stop(i)
                continue
            if msg is None:
                self._stop(i)  # kill the hung trainer
                _settle(fut, error=TrainerError(f"timed out after {timeout:g} s"))
            elif msg[0] == "ok":
                _settle(fut, msg[1])
            else:
                _settle(fut, error=TrainerError(msg[1]))

    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        if self._closed:
            raise RuntimeError("executor is shut down")
        fut: cf.Future = cf.Future()
        self._jobs.put((fut, trainer, config, timeout))
        return fut

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
        for i in range(self.n_workers):
            self._stop(i)  # unblocks a slot waiting on a running call
        for t in self._threads:
            t.join(timeout=5)


class ThreadExecutor(Executor):
    """Trainer calls in threads of this process (any callable; a timed-out call is abandoned,
    not killed)."""

    def __init__(self, n_workers: int = 1) -> None:
        self.n_workers = max(1, n_workers)
        self._pool = cf.ThreadPoolExecutor(self.n_workers, thread_name_prefix="metarl-trainer")

    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        out: cf.Future = cf.Future()
        inner = self._pool.submit(timed_call, trainer, config)

        def done(f: cf.Future) -> None:
            e = f.exception()
            if e is None:
                _settle(out, f.result())
            else:
                text = traceback.format_exception_only(type(e), e)[-1].strip()
                _settle(out, error=e if isinstance(e, TrainerError) else TrainerError(text))

        inner.add_done_callback(done)
        _arm_timeout(out, timeout)
        return out

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class DaskExecutor(Executor):
    """Trainer calls on a Dask ``distributed`` cluster.

    Args:
        client: a ``distributed.Client``, a scheduler address, or None to start a
            ``LocalCluster`` with ``n_workers`` single-threaded workers.
        n_workers: calls in flight at a time (default: the cluster's thread count).

    A call past its timeout is cancelled and recorded as failed; Dask cannot interrupt a task
    that is already running, so the worker finishes it and the result is discarded.
    """

    def __init__(self, client: Any = None, n_workers: int | None = None) -> None:
        try:
            import distributed
        except ImportError:
            raise ImportError(
                "executor 'dask' needs the distributed package: pip install 'dask[distributed]'"
            ) from None
        self._own = None
        if client is None:
            self._own = distributed.LocalCluster(
                n_workers=n_workers or 2, threads_per_worker=1, processes=True
            )
            client = distributed.Client(self._own)
        elif isinstance(client, str):
            client = distributed.Client(client)
        self.client = client
        if n_workers is None:
            n_workers = max(1, sum(client.nthreads().values()))
        self.n_workers = n_workers

    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        out: cf.Future = cf.Future()
        dfut = self.client.submit(timed_call, trainer, dict(config), pure=False)

        def done(f: Any) -> None:
            try:
                _settle(out, f.result())
            except BaseException as e:  # noqa: BLE001 - a trainer failure, or cancelled
                text = traceback.format_exception_only(type(e), e)[-1].strip()
                _settle(out, error=TrainerError(text))

        dfut.add_done_callback(done)
        _arm_timeout(out, timeout, on_timeout=dfut.cancel)
        out._metarl_dask = dfut  # type: ignore[attr-defined] - keeps the task referenced
        return out

    def shutdown(self) -> None:
        if self._own is not None:
            self.client.close()
            self._own.close()


def make_executor(name: str | Executor, n_workers: int = 2, **kwargs: Any) -> Executor:
    """An executor by name: ``process`` (default), ``thread`` or ``dask``.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(name, Executor):
        return name
    if name == "process":
        return ProcessExecutor(n_workers, **kwargs)
    if name == "thread":
        return ThreadExecutor(n_workers)
    if name == "dask":
        return DaskExecutor(kwargs.get("client"), n_workers if n_workers else None)
    raise ValueError(f"unknown executor {name!r}: expected one of {list(EXECUTORS)}")
