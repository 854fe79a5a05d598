"""Trainers: the sklearn and torch trainers really train; registry, entry points, errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest
import torch

import metarl._registry
import metarl.trainers._registry as _registry
from metarl import SpaceError
from metarl.benchmarks import TabularTask
from metarl.trainers import (
    SklearnTrainer,
    TorchMLPTrainer,
    list_trainers,
    make_trainer,
    register_trainer,
)

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area"]


@pytest.fixture(scope="module")
def sk() -> SklearnTrainer:
    return SklearnTrainer("breast_cancer", cv=3, seed=0)


@pytest.fixture(scope="module")
def mlp() -> TorchMLPTrainer:
    return TorchMLPTrainer(seed=0)


MLP = {
    "depth": 1,
    "width": 32,
    "activation": "relu",
    "dropout": 0.0,
    "lr": 1e-2,
    "batch_size": 64,
    "epochs": 3,
}


def test_sklearn_really_trains(sk: SklearnTrainer) -> None:
    assert (sk.metric, sk.direction) == ("val_acc", "maximize")
    assert sk.space.context_values == {
        "dataset": "breast_cancer",
        "n_samples": 569,
        "n_features": 30,
    }
    configs = sk.space.sample(6, seed=0) + [
        {"features": FEATURES, "model": "logreg", "logreg_C": 1.0},
        {"features": FEATURES[:1], "model": "logreg", "logreg_C": 1.0},
        {"features": FEATURES, "model": "svm", "svm_C": 1.0, "svm_gamma": 0.1},
        {"features": FEATURES, "model": "knn", "knn_n_neighbors": 5, "knn_weights": "uniform"},
        {
            "features": FEATURES,
            "model": "hgb",
            "hgb_learning_rate": 0.1,
            "hgb_max_leaf_nodes": 8,
            "hgb_max_iter": 20,
        },
    ]
    results = [sk(c) for c in configs]
    for c, r in zip(configs, results):
        assert set(r) == {"val_acc", "val_acc_std", "train_time", "n_features_used"}
        assert 0.0 <= r["val_acc"] <= 1.0 and r["train_time"] > 0.0
        assert r["n_features_used"] == len(c["features"])
    accs = [r["val_acc"] for r in results]
    assert len(set(accs)) >= 8  # results vary with the config
    assert results[6]["val_acc"] > results[7]["val_acc"]  # 4 features beat 1
    assert min(results[6:], key=lambda r: r["val_acc"])["val_acc"] > 0.8
    X = sk.space.encode(configs)
    assert X.shape == (len(configs), sk.space.encoded_width)


def test_sklearn_regression_and_noise() -> None:
    tr = make_trainer("sklearn", dataset="diabetes", cv=3, seed=1)
    assert tr.metric == "val_r2"
    config = {"features": ["bmi", "bp", "s5"], "model": "ridge", "ridge_alpha": 1.0}
    a, b = tr(config), tr(config)
    assert 0.2 < a["val_r2"] < 0.7
    assert a["val_r2"] != b["val_r2"]  # a fresh fold split per call, as real training
    tr.reseed(1)
    assert tr(config)["val_r2"] == a["val_r2"]


def test_sklearn_bad_input(sk: SklearnTrainer) -> None:
    with pytest.raises(ValueError, match="unknown sklearn dataset 'mnist'.*breast_cancer"):
        SklearnTrainer("mnist")
    with pytest.raises(ValueError, match="cv"):
        SklearnTrainer(cv=1)
    with pytest.raises(ValueError, match="n_threads"):
        SklearnTrainer(n_threads=0)
    with pytest.raises(SpaceError, match="svm_C"):
        sk({"features": FEATURES, "model": "logreg", "logreg_C": 1.0, "svm_C": 1.0})
    with pytest.raises(SpaceError, match="logreg_C"):
        sk({"features": FEATURES, "model": "logreg", "logreg_C": 1e9})
    with pytest.raises(SpaceError, match="item 'age'"):
        sk({"features": ["age"], "model": "logreg", "logreg_C": 1.0})
    with pytest.raises(SpaceError, match="context dataset='wine'"):
        sk({"features": FEATURES, "model": "logreg", "logreg_C": 1.0, "dataset": "wine"})


def test_torch_mlp_really_trains(mlp: TorchMLPTrainer) -> None:
    assert (mlp.metric, mlp.direction) == ("val_acc", "maximize")
    assert mlp.space.context_values == {"device": "cpu"}
    wide = {**MLP, "width": 128, "epochs": 5}
    tiny = {**MLP, "width": 16, "lr": 1e-4, "epochs": 1, "batch_size": 256}
    r_wide, r_tiny = mlp(wide), mlp(tiny)
    assert set(r_wide) == {"val_acc", "val_loss", "train_time", "model_size"}
    assert r_wide["val_acc"] > 0.9 and r_wide["val_acc"] > r_tiny["val_acc"] + 0.2
    assert r_wide["val_loss"] < r_tiny["val_loss"]
    assert r_wide["model_size"] == 64 * 128 + 128 + 128 * 10 + 10


def test_torch_mlp_noise_and_reseed(mlp: TorchMLPTrainer) -> None:
    state, threads = torch.random.get_rng_state(), torch.get_num_threads()
    mlp.reseed(3)
    a, b = mlp(MLP), mlp(MLP)
    assert a["val_loss"] != b["val_loss"]
    mlp.reseed(3)
    assert mlp(MLP)["val_loss"] == a["val_loss"]
    assert torch.equal(torch.random.get_rng_state(), state)  # global torch state untouched
    assert torch.get_num_threads() == threads


def test_torch_mlp_bad_input(mlp: TorchMLPTrainer) -> None:
    with pytest.raises(SpaceError, match="epochs"):
        mlp({**MLP, "epochs": 100})
    with pytest.raises(SpaceError, match="activation"):
        mlp({**MLP, "activation": "swish"})
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        TorchMLPTrainer(device="tpu")
    with pytest.raises(ValueError, match="num_threads"):
        TorchMLPTrainer(num_threads=0)
    if torch.cuda.is_available():
        assert TorchMLPTrainer(device="cuda").space.context_values == {"device": "cuda"}
    else:
        with pytest.raises(ValueError, match="cuda.*is_available"):
            make_trainer("torch_mlp", device="cuda")


def test_make_trainer_names() -> None:
    names = list_trainers()
    assert {"sklearn", "torch_mlp", "tabular", "hpolib/protein_structure"} <= set(names)
    task = make_trainer("hpolib/protein_structure", seed=0)
    assert isinstance(task, TabularTask)
    same = make_trainer("tabular", task="hpolib/protein_structure", seed=0)
    config = task.best_config()
    assert task(config) == same(config)
    assert isinstance(make_trainer("torch_mlp"), TorchMLPTrainer)
    with pytest.raises(ValueError, match="unknown trainer 'xgb'.*sklearn"):
        make_trainer("xgb")
    with pytest.raises(ValueError, match="needs task="):
        make_trainer("tabular")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_REGISTRY", _registry._REGISTRY.copy())


class _Squares:
    """A plug-in trainer as a user would write one."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.space = TorchMLPTrainer().space
        self.metric, self.direction = "loss", "minimize"

    def __call__(self, config: dict) -> dict[str, float]:
        return {"loss": self.scale * (np.log10(config["lr"]) + 2) ** 2}


def test_register_trainer(registry: None) -> None:
    register_trainer("squares", _Squares)
    tr = make_trainer("squares", scale=2.0)
    assert tr({**MLP, "lr": 1e-3})["loss"] == pytest.approx(2.0)
    assert "squares" in list_trainers()
    register_trainer("squares", _Squares)  # the same again: a no-op (a module imported twice)
    with pytest.raises(ValueError, match="already registered"):
        register_trainer("squares", SklearnTrainer)
    with pytest.raises(ValueError, match="already registered"):
        register_trainer("hpolib/protein_structure", _Squares)
    with pytest.raises(TypeError, match="not a callable"):
        register_trainer("bad", 42)  # type: ignore[arg-type]
    register_trainer("lazy", "no_such_module:Thing")
    with pytest.raises(ImportError, match="trainer 'lazy': cannot import 'no_such_module:Thing'"):
        make_trainer("lazy")


def test_entry_points(registry: None, monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint("squares_ep", f"{__name__}:_Squares", _registry.ENTRY_POINT_GROUP)

    def fake_entry_points(group: str) -> list[EntryPoint]:
        return [ep] if group == _registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(metarl._registry, "entry_points", fake_entry_points)
    assert "squares_ep" in list_trainers()
    assert isinstance(make_trainer("squares_ep"), _Squares)
