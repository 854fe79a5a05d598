"""Torch thread control for the small networks policies run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch CPU threads, restoring the previous number afterwards.

    Small networks (PPO's policy, Optuna's GP) run fastest on one thread, above all on a
    shared CPU where more threads contend; ``None`` leaves the setting alone.
    """
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
