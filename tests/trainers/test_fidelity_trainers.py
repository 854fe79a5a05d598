"""The real trainers' fidelities: sklearn's training-subsample fraction, the torch MLP's
epochs or training subsample, and the torch trainer's per-epoch callback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl import SpaceError
from metarl.space import Fidelity, Integer
from metarl.trainers import SklearnTrainer, TorchMLPTrainer


@pytest.fixture(scope="module")
def sk() -> SklearnTrainer:
    return SklearnTrainer("breast_cancer", cv=3, seed=0, min_subsample=0.1)


def test_sklearn_subsample_is_a_fidelity_of_the_space(sk: SklearnTrainer) -> None:
    p = sk.space.params["subsample"]
    assert isinstance(p, Fidelity) and p.full == 1.0 and p.low == 0.1 and p.log
    assert "subsample" not in SklearnTrainer("breast_cancer").space.params  # opt-in


def test_sklearn_subsample_trains_each_fold_on_that_fraction(sk: SklearnTrainer) -> None:
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    whole = [len(tr) for tr, _ in folds.split(sk.X, sk.y)]
    cut = sk._subsampled(folds, 0.1, seed=1)
    assert [len(tr) for tr, _ in cut] == [round(0.1 * n) for n in whole]
    assert [len(te) for _, te in cut] == [len(te) for _, te in folds.split(sk.X, sk.y)]
    for tr, te in cut:  # both classes kept, no test row trained on
        assert set(sk.y[tr]) == {0, 1} and not set(tr) & set(te)
    config = sk.space.sample(1, 0)[0] | {"model": "knn", "knn_n_neighbors": 50}
    config = {k: v for k, v in config.items() if not k.startswith(("logreg", "svm", "hgb"))}
    out = sk(config | {"subsample": 0.1, "knn_weights": "uniform"})  # k cut to the rows
    assert 0.0 <= out["val_acc"] <= 1.0


def test_sklearn_subsample_outside_its_range_is_one_line(sk: SklearnTrainer) -> None:
    config = sk.space.sample(1, 0)[0] | {"subsample": 1.5}
    with pytest.raises(SpaceError) as e:
        sk(config)
    assert "subsample" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match=r"^min_subsample must be None or in \(0, 1\)"):
        SklearnTrainer("breast_cancer", min_subsample=1.0)


def test_torch_epochs_fidelity_and_per_epoch_reports() -> None:
    t = TorchMLPTrainer(seed=0, fidelity="epochs", max_epochs=8)
    p = t.space.params["epochs"]
    assert isinstance(p, Fidelity) and p.full == 8 and p.integer
    assert isinstance(TorchMLPTrainer(seed=0).space.params["epochs"], Integer)  # opt-in
    config = t.space.sample(1, 0)[0] | {"epochs": 3, "batch_size": 256, "width": 16}
    seen: list[tuple[int, float]] = []
    out = t(config, on_epoch=lambda e, m: seen.append((e, m["val_acc"])))
    assert [e for e, _ in seen] == [1, 2, 3] and seen[-1][1] == out["val_acc"]
    stopped: list[int] = []
    t(config, on_epoch=lambda e, m: stopped.append(e) or e < 2)  # False at epoch 2
    assert stopped == [1, 2]
    with pytest.raises(SpaceError, match="epochs"):
        t(config | {"epochs": 9})


def test_torch_subsample_fidelity_trains_on_a_stratified_fraction() -> None:
    t = TorchMLPTrainer(seed=0, fidelity="subsample", min_subsample=0.2)
    assert isinstance(t.space.params["subsample"], Fidelity)
    rows = t._training_rows(0.2, seed=3).numpy()
    n = len(t._y_tr)
    assert len(rows) == round(0.2 * n) and len(np.unique(rows)) == len(rows)
    assert set(t._y_tr.numpy()[rows]) == set(range(10))
    assert len(t._training_rows(1.0, seed=3)) == n
    with pytest.raises(ValueError, match=r"^unknown fidelity 'steps'"):
        TorchMLPTrainer(fidelity="steps")


@pytest.mark.parametrize(("dataset", "n_in", "n_out"), [("wine", 13, 3), ("synthetic", 40, 6)])
def test_torch_trainer_on_another_dataset(dataset: str, n_in: int, n_out: int) -> None:
    t = TorchMLPTrainer(seed=0, fidelity="epochs", max_epochs=3, dataset=dataset)
    config = t.space.sample(1, 0)[0] | {"epochs": 2, "depth": 1}
    model = t.build_model(t.space.sample(1, 0)[0] | {"depth": 1})
    assert model[0].in_features == n_in and model[-1].out_features == n_out
    assert 0.0 <= t(config)["val_acc"] <= 1.0
    assert repr(t).startswith(f"TorchMLPTrainer(dataset={dataset!r}, ")
    # standardised on the training split
    assert torch.allclose(t._X_tr.mean(0), torch.zeros(n_in), atol=1e-4)


def test_torch_trainer_dataset_default_and_refusal() -> None:
    default = TorchMLPTrainer(seed=0)
    assert default.dataset == "digits" and repr(default) == "TorchMLPTrainer(device='cpu')"
    assert default.build_model(default.space.sample(1, 0)[0])[-1].out_features == 10
    a = TorchMLPTrainer(seed=0, dataset="synthetic")
    b = TorchMLPTrainer(seed=1, dataset="synthetic")  # the same data, split otherwise
    assert len(a._y_tr) == len(b._y_tr) == 1500 and not torch.equal(a._y_tr, b._y_tr)
    assert torch.equal(a._X_tr, TorchMLPTrainer(seed=0, dataset="synthetic")._X_tr)
    with pytest.raises(ValueError, match=r"^unknown dataset 'mnist'; valid: \['digits'"):
        TorchMLPTrainer(dataset="mnist")
