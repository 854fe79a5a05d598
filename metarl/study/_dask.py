"""Trainer calls on a Dask ``distributed`` cluster (``executor="dask"``)."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import warnings
from typing import Any

from metarl.study._executors import Executor, error_text, timed_call
from metarl.study._timeout import AutoTimeout, Limit, settle, watch
from metarl.trainers import Trainer, TrainerError, TrainerSpec
from metarl.type_aliases import Config


class DaskExecutor(Executor):
    """Trainer calls on a Dask ``distributed`` cluster.

    Args:
        client: a ``distributed.Client``, a scheduler address, or None to start a
            ``LocalCluster`` with ``n_workers`` single-threaded workers.
        n_workers: calls in flight at a time (default: the cluster's thread count).
        default_timeout: the limit of calls without a ``timeout`` (default
            :class:`~metarl.study.AutoTimeout`).
        restart_hung: restart the Dask worker running a call past its limit (Dask cannot
            interrupt a running task, and a hung one would hold its worker for good). Default:
            True for the executor's own cluster; on a cluster of yours, a restart also
            reruns that worker's other tasks elsewhere, so it is off unless you ask for it.

    A call past its limit is cancelled and recorded as failed. Its limit counts from its
    submission (Dask does not say when a task starts).
    """

    def __init__(
        self,
        client: Any = None,
        n_workers: int | None = None,
        default_timeout: AutoTimeout | None = None,
        restart_hung: bool | None = None,
    ) -> None:
        try:
            import distributed
        except ImportError:
            raise ImportError(
                "executor 'dask' needs the distributed package: pip install 'dask[distributed]'"
            ) from None
        self.default_timeout = default_timeout or AutoTimeout()
        self._own = None
        if client is None:
            # Dask's logs would repeat each trainer failure with a traceback; the study
            # stores every failure with its reason
            self._own = distributed.LocalCluster(
                n_workers=n_workers or 2,
                threads_per_worker=1,
                processes=True,
                silence_logs=logging.CRITICAL,
            )
            client = distributed.Client(self._own)
        elif isinstance(client, str):
            client = distributed.Client(client)
        self.client = client
        self.restart_hung = self._own is not None if restart_hung is None else restart_hung
        self._restarts: list[threading.Thread] = []
        if n_workers is None:
            n_workers = max(1, sum(client.nthreads().values()))
        self.n_workers = n_workers

    def submit(
        self, trainer: Trainer | TrainerSpec, config: Config, timeout: float | None = None
    ) -> cf.Future:
        out: cf.Future = cf.Future()
        limit = Limit(timeout, self.default_timeout)
        dfut = self.client.submit(timed_call, trainer, dict(config), pure=False)

        def done(f: Any) -> None:
            if f.cancelled():
                return  # by the limit, which fails ``out`` with its reason
            try:
                result = f.result()
            except BaseException as e:  # noqa: BLE001 - a trainer failure, or cancelled
                settle(out, error=TrainerError(error_text(e)))
                return
            finally:
                # the scheduler would recompute a held result whose worker restarts: a
                # second trainer call for nothing
                f.release()
            self._succeeded(result)
            settle(out, result)

        def cancel() -> bool:
            hung = [w for w, keys in self.client.processing().items() if dfut.key in keys]
            dfut.cancel()
            if self.restart_hung and hung:  # in the background: a restart takes seconds
                t = threading.Thread(target=self._restart, args=(hung,), daemon=True)
                self._restarts.append(t)
                t.start()
            return True

        dfut.add_done_callback(done)
        watch(out, limit, on_timeout=cancel)
        out._metarl_dask = dfut  # type: ignore[attr-defined] - keeps the task referenced
        return out

    def _restart(self, workers: list[str]) -> None:
        try:
            self.client.restart_workers(workers, raise_for_error=False)
        except Exception as e:  # noqa: BLE001 - the cluster may be shutting down
            warnings.warn(f"metarl: cannot restart Dask workers {workers}: {e}", stacklevel=1)

    def shutdown(self) -> None:
        for t in self._restarts:  # closing the cluster under a restart spills tracebacks
            t.join(timeout=60)
        if self._own is not None:
            self.client.close()
            self._own.close()
