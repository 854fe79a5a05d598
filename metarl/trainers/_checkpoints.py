"""Training checkpoints keyed by config, so that a trainer can continue a config it trained at
a lower fidelity (more epochs after fewer) instead of training it again from scratch.

A :class:`CheckpointStore` keeps, per key, the checkpoint with the most training: in memory
(this process; threads share it) and, with ``directory``, also on disk, so that processes
(pool children, Dask workers, ``metarl worker`` on one file system) share them. Both are
bounded in size: in memory the least recently used go first, on disk the least recently
written (file mtime; a continued run writes its checkpoint anew, so a config in use stays).

On disk a checkpoint is ``<key>-<steps>.ckpt``: its steps are read from the name (no load to
compare), a file is written to a temporary name and renamed (a reader never sees half a
checkpoint), and after a write the key's files of fewer steps are deleted, so that processes
writing one key at once never replace a checkpoint by one of fewer steps. A file that cannot
be decoded as a checkpoint (garbage, another program's, an older format) is deleted with a
warning, and its config trains from scratch; one that cannot be read now (an OSError: EIO,
a stale NFS handle) is kept, and only this call trains from scratch. Temporary files left by
a crashed writer are deleted once :data:`STALE_TMP_SECONDS` old.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The checkpoint's count of training steps (epochs); the store keeps the largest per key.
STEPS = "steps"
#: Part of every :func:`checkpoint_key`: raise it when what a checkpoint holds or means
#: changes, so that a reused ``checkpoint_dir`` is never continued across the change.
CHECKPOINT_VERSION = 2
_SUFFIX = ".ckpt"
#: A writer's temporary file untouched this long is a crashed writer's, and is deleted.
STALE_TMP_SECONDS = 60.0


def checkpoint_key(identity: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """A stable key of a config under a trainer's identity (what two runs must share for one
    to continue the other: the trainer's class, its data, the device, ...) and
    :data:`CHECKPOINT_VERSION`, the same in every process."""

    def plain(v: Any) -> Any:
        return v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v

    text = json.dumps(
        [
            CHECKPOINT_VERSION,
            {k: plain(v) for k, v in identity.items()},
            {k: plain(v) for k, v in config.items()},
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _nbytes(obj: Any) -> int:
    """Bytes of the tensors in a (nested) checkpoint."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, Mapping):
        return sum(_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v) for v in obj)
    return 0


class CheckpointStore:
    """Per-key checkpoints (dicts of tensors and numbers with an integer :data:`STEPS`).

    Args:
        max_mb: the most megabytes of tensors kept in memory, and of files in ``directory``.
        directory: a folder shared by the processes that train (None: memory only).
    """

    def __init__(self, max_mb: float = 256.0, directory: str | Path | None = None) -> None:
        if not max_mb > 0:
            raise ValueError(f"max_mb must be > 0, got {max_mb!r}")
        self.max_bytes = int(max_mb * 2**20)
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._memory: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        self._lock = threading.Lock()
        self._warned = False

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: str, below: int | None = None) -> dict[str, Any] | None:
        """A private copy of the key's checkpoint of the most steps (in memory or on disk),
        or None; with ``below``, only one of fewer steps than ``below``."""

        def fits(steps: int) -> bool:
            return below is None or steps < below

        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
        mem = hit[0] if hit is not None and fits(int(hit[0][STEPS])) else None
        mem_steps = int(mem[STEPS]) if mem is not None else -1
        files = [(n, p) for n, p in self._files(key) if fits(n)]
        if files and files[-1][0] > mem_steps:  # another process trained it further
            on_disk = self._read(*files[-1])
            if on_disk is not None:
                return on_disk
        # a resumed optimizer updates its state tensors in place: never the stored ones
        return copy.deepcopy(mem) if mem is not None else None

    def put(self, key: str, state: dict[str, Any]) -> None:
        """Keep ``state`` for ``key`` unless a checkpoint of more steps is kept already."""
        steps, size = int(state[STEPS]), _nbytes(state)
        with self._lock:
            old = self._memory.get(key)
            if old is None or old[0][STEPS] <= steps:
                self._memory[key] = (state, size)
                self._memory.move_to_end(key)
            while self._memory and sum(s for _, s in self._memory.values()) > self.max_bytes:
                self._memory.popitem(last=False)
        if self.directory is not None:
            files = self._files(key)
            if not files or files[-1][0] <= steps:
                self._write(key, state)

    def _path(self, key: str, steps: int) -> Path:
        assert self.directory is not None
        return self.directory / f"{key}-{int(steps)}{_SUFFIX}"

    def _files(self, key: str) -> list[tuple[int, Path]]:
        """The key's files on disk as (steps, path), fewest steps first."""
        if self.directory is None:
            return []
        out = []
        for p in self.directory.glob(f"{key}-*{_SUFFIX}"):
            steps = p.name[len(key) + 1 : -len(_SUFFIX)]
            if steps.isdigit():
                out.append((int(steps), p))
        return sorted(out)

    def _read(self, steps: int, path: Path) -> dict[str, Any] | None:
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:  # pruned by another process since listed
            return None
        except OSError as e:  # maybe transient (EIO, a stale NFS handle): keep the file
            self._warn(f"checkpoint {path} could not be read now ({type(e).__name__}: {e}): "
                       "kept, its config trains from scratch this time")  # fmt: skip
            return None
        except Exception as e:  # noqa: BLE001 - a file that does not decode is dropped
            self._discard(path, f"{type(e).__name__}: {str(e)[:120]}")
            return None
        if not isinstance(state, dict) or state.get(STEPS) != steps:
            self._discard(path, f"not a checkpoint of {steps} steps")
            return None
        return state

    def _discard(self, path: Path, why: str) -> None:
        """Delete an unreadable file (its config then trains from scratch); warn once."""
        path.unlink(missing_ok=True)
        self._warn(f"checkpoint {path} is unreadable ({why}): deleted, its config trains from "
                   "scratch")  # fmt: skip

    def _warn(self, message: str) -> None:
        """Warn about an unreadable checkpoint once per store (further ones are silent)."""
        if not self._warned:
            self._warned = True
            message += " (further unreadable checkpoints are not reported)"
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _write(self, key: str, state: dict[str, Any]) -> None:
        import torch

        assert self.directory is not None
        steps = int(state[STEPS])
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(state, f)
            os.replace(tmp, self._path(key, steps))  # atomic: readers see it whole or not
        except FileNotFoundError:  # pruned as stale meanwhile (a writer stalled): not kept
            Path(tmp).unlink(missing_ok=True)
            return
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # another process may have written more steps meanwhile: keep only the most
        files = self._files(key)
        for _, p in files[:-1]:
            p.unlink(missing_ok=True)
        self._prune()

    def _prune(self) -> None:
        """Drop the least recently written files beyond ``max_mb``, and temporary files
        older than :data:`STALE_TMP_SECONDS` (another process may be pruning too: a file
        already gone is fine)."""
        assert self.directory is not None
        stale = time.time() - STALE_TMP_SECONDS
        for p in self.directory.glob(".*.tmp"):
            try:
                if p.stat().st_mtime < stale:
                    p.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
        files = []
        for p in self.directory.glob(f"*{_SUFFIX}"):
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size

    def __getstate__(self) -> dict[str, Any]:
        # a copy sent to another process shares the directory, not this process's memory
        return {"max_bytes": self.max_bytes, "directory": self.directory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_bytes, self.directory = state["max_bytes"], state["directory"]
        self._memory = OrderedDict()
        self._lock = threading.Lock()
        self._warned = False
