import json
import zipfile

import numpy as np
import pytest
import torch

from metarl import Categorical, Integer, SearchSpace
from metarl.learners import (
    ForestLearner,
    LearnerFileError,
    MLPEnsembleLearner,
    load_learner,
    read_metadata,
    save_learner,
)


class Payload:
    """Stands for any class a crafted file could ask the loader to build."""

    def __init__(self) -> None:
        self.x = 1


@pytest.fixture
def fitted():
    space = SearchSpace({"op": Categorical(["a", "b", "c"]), "n": Integer(1, 8)})
    M = space.sample_matrix(40, seed=0)
    X = space.encode_matrix(M)
    y = X[:, 0] + X[:, -1] + 0.1
    return space, X, ForestLearner(n_estimators=5, random_state=0).fit(X, y)


def test_round_trip_with_space(fitted, tmp_path):
    space, X, learner = fitted
    path = save_learner(learner, tmp_path / "f.metarl", space=space)
    back = load_learner(path, space=space)
    np.testing.assert_array_equal(back.predict(X), learner.predict(X))


def test_other_space_is_refused(fitted, tmp_path):
    space, _, learner = fitted
    path = save_learner(learner, tmp_path / "f.metarl", space=space)
    other = SearchSpace({"op": Categorical(["a", "b"]), "n": Integer(1, 8)})
    with pytest.raises(LearnerFileError, match="another search space"):
        load_learner(path, space=other)


def _rewrite_meta(path, **changes):
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(files["metadata.json"])
    meta.update(changes)
    files["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in files.items():
            zf.writestr(n, b)


def test_other_major_version_is_refused(fitted, tmp_path):
    _, _, learner = fitted
    path = save_learner(learner, tmp_path / "f.metarl")
    _rewrite_meta(path, metarl_version="99.0.0")
    with pytest.raises(LearnerFileError, match="metarl 99.0.0.*major"):
        load_learner(path)


def test_not_a_learner_file(tmp_path):
    p = tmp_path / "x.metarl"
    p.write_bytes(b"hello")
    with pytest.raises(LearnerFileError, match="not a metarl learner file"):
        load_learner(p)


def test_untrusted_type_is_refused(fitted, tmp_path):
    _, _, learner = fitted
    learner.extra_ = Payload()  # a type outside the allow-list
    path = save_learner(learner, tmp_path / "f.metarl")
    with pytest.raises(LearnerFileError, match="allow-list"):
        load_learner(path)


def test_mlp_tensors_use_weights_only(tmp_path):
    X = np.random.default_rng(0).random((30, 3)).astype(np.float32)
    mlp = MLPEnsembleLearner(n_members=2, hidden=4, epochs=5, random_state=0).fit(X, X[:, 0])
    path = save_learner(mlp, tmp_path / "m.metarl")
    with zipfile.ZipFile(path) as zf:
        assert "tensors.pt" in zf.namelist()
    np.testing.assert_array_equal(load_learner(path).predict(X), mlp.predict(X))


def test_mlp_device_option():
    X = np.random.default_rng(0).random((20, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="device"):
        MLPEnsembleLearner(device="tpu", epochs=1).fit(X, X[:, 0])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            MLPEnsembleLearner(device="cuda", epochs=1).fit(X, X[:, 0])
    auto = MLPEnsembleLearner(device="auto", n_members=2, hidden=4, epochs=2).fit(X, X[:, 0])
    assert auto.predict(X).shape == (20,)


def test_mlp_large_predict_is_chunked_and_consistent():
    rng = np.random.default_rng(0)
    X = rng.random((50, 4)).astype(np.float32)
    mlp = MLPEnsembleLearner(n_members=4, hidden=8, epochs=5, random_state=0).fit(X, X[:, 1])
    big = rng.random((300_000, 4)).astype(np.float32)
    mean, std = mlp.predict(big, return_std=True)
    assert mean.shape == std.shape == (300_000,)
    np.testing.assert_allclose(mean[:50], mlp.predict(big[:50]), rtol=1e-5, atol=1e-6)


def test_directions_target_names_and_extra_are_recorded(fitted, tmp_path):
    space, X, learner = fitted
    path = save_learner(
        learner, tmp_path / "f.metarl", space, directions="maximize", metadata={"runs": "a.csv"}
    )
    meta = read_metadata(path)
    assert meta["directions"] == ["maximize"] and meta["extra"] == {"runs": "a.csv"}
    assert meta["target_names"] == list(learner.target_names_)
    # one direction per target of a two-target learner, or one for both
    two = ForestLearner(n_estimators=3, random_state=0).fit(X, np.c_[X[:, 0], X[:, 1]])
    mixed = ["minimize", "maximize"]
    assert (
        read_metadata(save_learner(two, tmp_path / "2.metarl", directions=mixed))["directions"]
        == mixed
    )
    both = save_learner(two, tmp_path / "3.metarl", directions=["maximize"])
    assert read_metadata(both)["directions"] == ["maximize", "maximize"]
    # not recorded: None, as in files written before directions were recorded
    assert read_metadata(save_learner(learner, tmp_path / "n.metarl"))["directions"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"directions": "up"}, "direction must be 'minimize' or 'maximize', got 'up'"),
        ({"directions": ["minimize"] * 3}, "3 directions given for a learner of 1 targets"),
        ({"metadata": {"f": object()}}, "metadata must be JSON-serialisable"),
    ],
)
def test_bad_directions_or_metadata_are_refused(fitted, tmp_path, kwargs, message):
    _, _, learner = fitted
    with pytest.raises(ValueError, match=message):
        save_learner(learner, tmp_path / "f.metarl", **kwargs)
    assert not (tmp_path / "f.metarl").exists()
