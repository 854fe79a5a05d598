"""A study's checkpoints: the policy's learned state and the last fitted learner, in the
study's artifacts folder (beside a SQLite database: ``<db>.artifacts/<study>/``).

Each file is written beside its name and renamed over it (``os.replace``, atomic on one file
system): a kill mid-write leaves the previous checkpoint whole, never a truncated file that
the next run could not load.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metarl.space import SearchSpace


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path``; what is written there replaces ``path`` when the
    block succeeds (nothing written: ``path`` is left as it is)."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        if tmp.exists():
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(
    folder: Path, policy: Any, learner: Any, space: SearchSpace, direction: str
) -> None:
    """Write ``folder/policy`` (the policy's :meth:`save`, nothing for stateless policies)
    and ``folder/learner.mrl`` (the fitted learner, when there is one)."""
    folder.mkdir(parents=True, exist_ok=True)
    with replacing(folder / "policy") as tmp:
        policy.save(tmp)
    if learner is not None:
        # imported here: evaluation processes import the study and must start fast
        from metarl.learners import save_learner

        with replacing(folder / "learner.mrl") as tmp:
            save_learner(learner, tmp, space=space, directions=[direction])
