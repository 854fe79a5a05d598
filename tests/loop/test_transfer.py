"""The one transfer loader: tasks, stored studies, CSV files and DataFrames."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.loop import TRANSFER_SIZE, load_transfer, seed_streams
from metarl.space import Categorical, Float, SearchSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=5), "opt": Categorical(["a", "b"], ordered=False)},
    context={"dataset": Categorical(["d1", "d2", "d3"])},
    context_values={"dataset": "d1"},
)


def test_task_sources_draw_from_the_stream_with_their_own_context() -> None:
    task = load_task("nasbench201/cifar10")
    names = ["nasbench201/cifar100", "nasbench201/imagenet"]
    a = load_transfer(names, task.space, rng=seed_streams(2)["transfer"])
    b = load_transfer(names, task.space, rng=seed_streams(2)["transfer"])
    assert a.X.shape == (2 * TRANSFER_SIZE, task.space.encoded_width)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert list(np.unique(a.groups)) == ["dataset=cifar100", "dataset=imagenet"]
    assert load_transfer([], task.space) is None


def test_another_family_is_refused_by_name() -> None:
    task = load_task("hpolib/protein_structure")
    with pytest.raises(ValueError, match="'nasbench201/cifar10' encodes"):
        load_transfer(["nasbench201/cifar10"], task.space)
    with pytest.raises(ValueError, match="neither a study in the storage, a CSV file nor"):
        load_transfer(["no-such-source"], task.space)


def test_tables_are_snapped_to_the_grid_and_deduplicated(tmp_path) -> None:
    df = pd.DataFrame(
        {
            "x": [0.26, 0.24, 0.9, 0.26],
            "opt": ["a", "a", "b", "a"],
            "dataset": ["d2", "d2", "d2", "d3"],
            "loss": [1.0, 3.0, 5.0, 7.0],
        }
    )
    data = load_transfer([df], SPACE, metric="loss")
    # 0.26 and 0.24 both snap to the grid value 0.25: one config of d2, its mean value
    assert list(data.y) == [2.0, 5.0, 7.0]
    assert list(data.groups) == ["dataset=d2", "dataset=d2", "dataset=d3"]
    snapped = SPACE.encode([{"x": 0.25, "opt": "a", "dataset": "d2"}])
    np.testing.assert_array_equal(data.X[0], snapped[0])
    df.to_csv(tmp_path / "runs.csv", index=False)
    from_csv = load_transfer([str(tmp_path / "runs.csv")], SPACE, metric="loss")
    np.testing.assert_array_equal(from_csv.X, data.X)
    np.testing.assert_array_equal(from_csv.y, data.y)


def test_studies_in_the_storage_and_config_value_pairs() -> None:
    from metarl.study import Study

    def trainer(cfg: dict) -> dict:
        return {"loss": cfg["x"] + (cfg["opt"] == "b")}

    other = Study(SPACE.with_context(dataset="d3"), trainer, metric="loss", policy="random",
                  executor="thread", study_name="old", n_init=4)  # fmt: skip
    other.optimize(4)
    data = load_transfer(["old"], SPACE, metric="loss", storage=other.storage)
    assert len(data) == 4 and set(data.groups) == {"dataset=d3"}
    configs, values = other.history()
    np.testing.assert_allclose(np.sort(data.y), np.sort(values))
    pairs = load_transfer(([{**c, "dataset": "d3"} for c in configs], values), SPACE)
    np.testing.assert_array_equal(np.sort(pairs.y), np.sort(data.y))
