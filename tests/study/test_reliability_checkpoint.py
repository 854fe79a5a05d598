"""Checkpoints are replaced whole: a write that dies half-way leaves the previous one."""

from __future__ import annotations

from pathlib import Path

import pytest

from metarl.study._checkpoint import replacing


def test_a_write_that_fails_half_way_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "policy"
    path.write_bytes(b"round 3 weights")
    with pytest.raises(OSError, match="disk full"), replacing(path) as tmp:
        tmp.write_bytes(b"round 4 wei")  # a partial file, then the writer dies
        raise OSError("disk full")
    assert path.read_bytes() == b"round 3 weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy"]  # no temporary left


def test_a_complete_write_replaces_it_and_no_write_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "policy"
    path.write_bytes(b"round 3 weights")
    with replacing(path):
        pass  # a stateless policy writes nothing
    assert path.read_bytes() == b"round 3 weights"
    with replacing(path) as tmp:
        tmp.write_bytes(b"round 4 weights")
    assert path.read_bytes() == b"round 4 weights"
