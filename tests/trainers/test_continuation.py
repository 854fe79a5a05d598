"""Continuation of the torch trainer's epochs fidelity: a config trained for fewer epochs is
continued from its checkpoint, with the same result as training it from scratch."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from metarl.trainers import CONTINUED_FROM, TorchMLPTrainer, TrainerSpec
from metarl.trainers._checkpoints import STEPS, CheckpointStore

CONFIG = {
    "depth": 2,
    "width": 32,
    "activation": "relu",
    "dropout": 0.2,  # dropout draws from the RNG: continuing must restore its state too
    "lr": 0.01,
    "batch_size": 64,
}


def trainer(**kw) -> TorchMLPTrainer:
    return TorchMLPTrainer(seed=0, fidelity="epochs", max_epochs=6, **kw)


def test_continuing_gives_what_training_from_scratch_gives() -> None:
    scratch = trainer(continue_training=False)(CONFIG | {"epochs": 6})
    t = trainer()
    first = t(CONFIG | {"epochs": 2})
    assert first[CONTINUED_FROM] == 0.0
    out = t(CONFIG | {"epochs": 6})
    assert out[CONTINUED_FROM] == 2.0
    assert out["val_acc"] == scratch["val_acc"] and out["val_loss"] == scratch["val_loss"]
    assert CONTINUED_FROM not in scratch  # the opt-out trainer does not claim to continue


def test_each_call_continues_from_the_most_trained_checkpoint() -> None:
    t = trainer()
    assert [t(CONFIG | {"epochs": e})[CONTINUED_FROM] for e in (1, 3, 6)] == [0.0, 1.0, 3.0]
    # no more epochs than the checkpoint's: trained afresh, and the checkpoint of 6 is kept
    assert t(CONFIG | {"epochs": 3})[CONTINUED_FROM] == 0.0
    (state,) = [s for s, _ in t.checkpoints._memory.values()]
    assert state[STEPS] == 6
    # another config (any parameter but epochs) never continues this one
    assert t(CONFIG | {"lr": 0.001, "epochs": 6})[CONTINUED_FROM] == 0.0


def test_a_run_stopped_by_on_epoch_is_continued_from_where_it_stopped() -> None:
    scratch = trainer(continue_training=False)(CONFIG | {"epochs": 5})
    t = trainer()
    t(CONFIG | {"epochs": 6}, on_epoch=lambda e, m: e < 2)  # pruned after epoch 2
    seen: list[int] = []
    out = t(CONFIG | {"epochs": 5}, on_epoch=lambda e, m: seen.append(e))
    assert out[CONTINUED_FROM] == 2.0 and seen == [3, 4, 5]
    assert out["val_acc"] == scratch["val_acc"]


def test_without_continuation_every_call_trains_from_scratch() -> None:
    t = trainer(continue_training=False)
    assert t.checkpoints is None and not t.continues
    a, b = t(CONFIG | {"epochs": 2}), t(CONFIG | {"epochs": 2})
    assert CONTINUED_FROM not in a and a["val_loss"] != b["val_loss"]  # fresh seeds
    assert not TorchMLPTrainer(seed=0, fidelity="subsample").continues
    assert not TorchMLPTrainer(seed=0).continues


def test_a_checkpoint_dir_is_shared_by_copies_in_other_processes(tmp_path: Path) -> None:
    t = trainer(checkpoint_dir=tmp_path)
    scratch = trainer(continue_training=False)(CONFIG | {"epochs": 4})
    t(CONFIG | {"epochs": 2})
    copy = pickle.loads(pickle.dumps(t))  # what a pool child receives: no memory, the folder
    assert len(copy.checkpoints) == 0
    out = copy(CONFIG | {"epochs": 4})
    assert out[CONTINUED_FROM] == 2.0 and out["val_acc"] == scratch["val_acc"]
    assert [p.suffix for p in tmp_path.iterdir()] == [".ckpt"]  # no temporary file left
    # the option travels in a TrainerSpec, as workers rebuild the trainer
    spec = TrainerSpec(
        "trainer", "torch_mlp", {"seed": 0, "fidelity": "epochs", "checkpoint_dir": str(tmp_path)}
    )
    assert spec.build().checkpoints.directory == tmp_path


def test_the_store_is_bounded_in_memory_and_on_disk(tmp_path: Path) -> None:
    one = {STEPS: 1, "w": torch.zeros(2**16)}  # 256 KiB
    store = CheckpointStore(max_mb=1.0, directory=tmp_path)
    for i in range(8):
        store.put(f"k{i}", dict(one))
    assert len(store) == 4 and store.get("k0") is None and store.get("k7") is not None
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2**20
    assert store.get("k7", below=1) is None  # only a checkpoint of fewer steps
    got = store.get("k7")
    got["w"] += 1  # a private copy: the stored tensors are untouched
    assert float(store.get("k7")["w"].sum()) == 0.0


def test_bad_checkpoint_options_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^checkpoint_dir needs a seed"):
        TorchMLPTrainer(fidelity="epochs", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^checkpoint_dir keeps checkpoints"):
        TorchMLPTrainer(seed=0, fidelity="subsample", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^checkpoint_dir keeps checkpoints"):
        trainer(continue_training=False, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^checkpoint_mb must be > 0"):
        trainer(checkpoint_mb=0)


def test_an_unreadable_checkpoint_is_deleted_and_its_config_trains_from_scratch(
    tmp_path: Path,
) -> None:
    t = trainer(checkpoint_dir=tmp_path)
    t(CONFIG | {"epochs": 2})
    (path,) = tmp_path.glob("*.ckpt")
    path.write_bytes(b"not a checkpoint")
    child = pickle.loads(pickle.dumps(t))  # reads the folder: no checkpoint in memory
    with pytest.warns(RuntimeWarning, match="unreadable .* deleted"):
        out = child(CONFIG | {"epochs": 4})
    assert out[CONTINUED_FROM] == 0.0 and not path.exists()
    # the new checkpoint is written and continued as any
    assert pickle.loads(pickle.dumps(t))(CONFIG | {"epochs": 6})[CONTINUED_FROM] == 4.0


def test_a_foreign_file_is_deleted_with_one_warning(tmp_path: Path) -> None:
    import warnings

    import numpy as np

    store = CheckpointStore(1.0, tmp_path)
    torch.save({STEPS: 3, "x": np.arange(3)}, store._path("a", 3))  # weights_only refuses it
    store._path("b", 3).write_bytes(b"garbage")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.get("a") is None and store.get("b") is None
    assert len(caught) == 1 and not list(tmp_path.iterdir())


def test_a_read_error_keeps_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an OSError (EIO, a stale NFS handle) may be transient: the shared file stays
    import errno

    CheckpointStore(1.0, tmp_path).put("k", {STEPS: 3, "w": torch.ones(3)})
    (path,) = tmp_path.glob("*.ckpt")
    real = torch.load

    def eio(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(torch, "load", eio)
    other = CheckpointStore(1.0, tmp_path)  # another process: reads the folder
    with pytest.warns(RuntimeWarning, match="could not be read now .*OSError.* kept"):
        assert other.get("k") is None
    assert path.exists()
    monkeypatch.setattr(torch, "load", real)
    assert other.get("k")[STEPS] == 3  # read once the file system answers again


def test_a_crashed_writers_stale_temp_files_are_pruned(tmp_path: Path) -> None:
    import os
    import time

    from metarl.trainers._checkpoints import STALE_TMP_SECONDS

    old, fresh = tmp_path / ".k.crashed.tmp", tmp_path / ".k.writing.tmp"
    for p in (old, fresh):
        p.write_bytes(b"half a checkpoint")
    then = time.time() - STALE_TMP_SECONDS - 5
    os.utime(old, (then, then))
    CheckpointStore(1.0, tmp_path).put("k", {STEPS: 3, "w": torch.ones(3)})  # a write prunes
    assert not old.exists() and fresh.exists()  # a writer still at work keeps its file
    assert len(list(tmp_path.glob("*.ckpt"))) == 1


class OtherTrainer(TorchMLPTrainer):
    """Another trainer class (it could build other models): never continues the base's."""


def test_a_checkpoint_is_continued_only_by_a_trainer_of_the_same_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metarl.trainers import _checkpoints, _torch_mlp

    trainer(checkpoint_dir=tmp_path)(CONFIG | {"epochs": 2})
    other = OtherTrainer(seed=0, fidelity="epochs", max_epochs=6, checkpoint_dir=tmp_path)
    assert other(CONFIG | {"epochs": 4})[CONTINUED_FROM] == 0.0
    assert trainer(checkpoint_dir=tmp_path)(CONFIG | {"epochs": 4})[CONTINUED_FROM] == 2.0
    real = _torch_mlp.load_digits

    def mirrored() -> object:  # other data under the same seed and val_fraction
        data = real()
        data.data = data.data[:, ::-1].copy()
        return data

    monkeypatch.setattr(_torch_mlp, "load_digits", mirrored)
    assert trainer(checkpoint_dir=tmp_path)(CONFIG | {"epochs": 6})[CONTINUED_FROM] == 0.0
    monkeypatch.undo()
    key = _checkpoints.checkpoint_key({"a": 1}, {"b": 2})
    monkeypatch.setattr(_checkpoints, "CHECKPOINT_VERSION", _checkpoints.CHECKPOINT_VERSION + 1)
    assert _checkpoints.checkpoint_key({"a": 1}, {"b": 2}) != key


class ScaledTrainer(TorchMLPTrainer):
    """A subclass that sets its own attribute after the base ``__init__`` and extends
    ``checkpoint_identity`` with it, as the docstring invites."""

    def __init__(self, scale: int = 1, **kw) -> None:
        super().__init__(**kw)
        self.scale = scale

    def checkpoint_identity(self) -> dict[str, str]:
        return {**super().checkpoint_identity(), "scale": str(self.scale)}


def test_a_subclass_extends_checkpoint_identity_with_its_own_attributes(tmp_path: Path) -> None:
    def sub(scale: int) -> ScaledTrainer:
        return ScaledTrainer(
            scale, seed=0, fidelity="epochs", max_epochs=6, checkpoint_dir=tmp_path
        )

    assert sub(1)(CONFIG | {"epochs": 2})[CONTINUED_FROM] == 0.0
    assert sub(2)(CONFIG | {"epochs": 4})[CONTINUED_FROM] == 0.0  # another scale: no share
    assert sub(1)(CONFIG | {"epochs": 6})[CONTINUED_FROM] == 2.0


def test_disk_steps_come_from_file_names_and_fewer_steps_never_replace_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CheckpointStore(1.0, tmp_path).put("k", {STEPS: 6, "w": torch.ones(3)})
    other = CheckpointStore(1.0, tmp_path)  # another process: its own memory

    def no_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file was loaded to compare steps")

    monkeypatch.setattr(torch, "load", no_load)
    other.put("k", {STEPS: 3, "w": torch.zeros(3)})  # fewer steps: not written
    assert CheckpointStore(1.0, tmp_path).get("k", below=6) is None
    monkeypatch.undo()
    # a write of fewer steps racing one of more (both checked before either wrote) loses
    other._write("k", {STEPS: 3, "w": torch.zeros(3)})
    assert [p.name for p in tmp_path.glob("*.ckpt")] == ["k-6.ckpt"]
    assert float(CheckpointStore(1.0, tmp_path).get("k")["w"].sum()) == 3.0


def test_a_checkpoint_holds_cpu_copies_not_the_live_tensors() -> None:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    state = trainer()._checkpoint(model, opt, seed=0, epochs=1)
    saved = [v for s in state["optimizer"]["state"].values() for v in s.values()]
    live = [v for s in opt.state.values() for v in s.values()]
    saved += list(state["model"].values())
    live += list(model.parameters())
    assert all(v.device.type == "cpu" for v in saved)
    assert not {v.data_ptr() for v in saved} & {v.data_ptr() for v in live}


def test_a_checkpoint_is_not_continued_on_another_dataset(tmp_path: Path) -> None:
    """The identity hashes the data tensors: the same config, seed and folder on another
    dataset trains from scratch."""
    trainer(checkpoint_dir=tmp_path, dataset="wine")(CONFIG | {"epochs": 2})
    digits = trainer(checkpoint_dir=tmp_path)
    assert digits(CONFIG | {"epochs": 4})[CONTINUED_FROM] == 0.0
    wine = trainer(checkpoint_dir=tmp_path, dataset="wine")
    assert wine(CONFIG | {"epochs": 4})[CONTINUED_FROM] == 2.0
    assert wine.checkpoint_identity()["data"] != digits.checkpoint_identity()["data"]
