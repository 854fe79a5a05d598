"""Training checkpoints keyed by config, so that a trainer can continue a config it trained at
a lower fidelity (more epochs after fewer) instead of training it again from scratch.

A :class:`CheckpointStore` keeps, per key, the checkpoint with the most training: in memory
(this process; threads share it) and, with ``directory``, also on disk, so that processes
(pool children, Dask workers, ``metarl worker`` on one file system) share them. Both are
bounded in size (least recently used dropped first); a file is written to a temporary name and
renamed, so a reader never sees half a checkpoint.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The checkpoint's count of training steps (epochs); the store keeps the largest per key.
STEPS = "steps"
_SUFFIX = ".ckpt"


def checkpoint_key(identity: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """A stable key of a config under a trainer's identity (what makes two runs continue one
    another: the data split, the device, ...), the same in every process."""

    def plain(v: Any) -> Any:
        return v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v

    text = json.dumps(
        [{k: plain(v) for k, v in identity.items()}, {k: plain(v) for k, v in config.items()}],
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

    def __len__(self) -> int:
        return len(self._memory)

    def get(self, key: str, below: int | None = None) -> dict[str, Any] | None:
        """A private copy of the key's checkpoint (memory first, then disk), or None; with
        ``below``, only one of fewer steps."""
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                state = hit[0]
        if hit is None:
            state = self._read(key)
            if state is None:
                return None
        if below is not None and state[STEPS] >= below:
            return None
        # a resumed optimizer updates its state tensors in place: never the stored ones
        return copy.deepcopy(state) if hit is not None else state

    def put(self, key: str, state: dict[str, Any]) -> None:
        """Keep ``state`` for ``key`` unless a checkpoint of more steps is kept already."""
        size = _nbytes(state)
        with self._lock:
            old = self._memory.get(key)
            if old is None or old[0][STEPS] <= state[STEPS]:
                self._memory[key] = (state, size)
                self._memory.move_to_end(key)
            while self._memory and sum(s for _, s in self._memory.values()) > self.max_bytes:
                self._memory.popitem(last=False)
        if self.directory is not None:
            old_disk = self._read(key)
            if old_disk is None or old_disk[STEPS] <= state[STEPS]:
                self._write(key, state)

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{key}{_SUFFIX}"

    def _read(self, key: str) -> dict[str, Any] | None:
        if self.directory is None:
            return None
        import torch

        try:
            return torch.load(self._path(key), map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError):  # absent, or pruned while read
            return None

    def _write(self, key: str, state: dict[str, Any]) -> None:
        import torch

        assert self.directory is not None
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(state, f)
            os.replace(tmp, self._path(key))  # atomic: readers see the old file or the new
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._prune()

    def _prune(self) -> None:
        """Drop the least recently written files beyond ``max_mb`` (another process may be
        pruning too: a file already gone is fine)."""
        assert self.directory is not None
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
