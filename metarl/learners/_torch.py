"""Small torch helpers shared by the torch learners."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def resolve_device(device: str) -> torch.device:
    """``"cpu"``, ``"cuda"``/``"cuda:N"`` (error when unavailable) or ``"auto"``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu" and not str(device).startswith("cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {device!r}")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch sees no CUDA device")
    return torch.device(device)


@contextlib.contextmanager
def single_thread(enabled: bool = True) -> Iterator[None]:
    """Run torch on one CPU thread inside the block (then restore the previous count).

    Fitting on a few hundred points is a long chain of tiny ops; spreading each over
    threads costs more in synchronisation than it saves, badly so on a loaded machine.
    """
    if not enabled:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
