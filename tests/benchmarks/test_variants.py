"""Noisy task variants (``"hpolib/protein_structure:noise3"``): same truth, wider noise."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.benchmarks import (
    NOISY_SEEDS,
    TabularTask,
    Variant,
    list_tasks,
    load_task,
    match_tasks,
    parse_variant,
)

TASKS = ["hpolib/protein_structure", "nasbench201/cifar100"]


def _deviation(task: TabularTask, obs: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Each observation's deviation from its config's seed-mean on the g scale."""
    return task.g(obs) - task.g(task.true_value(M))


def test_names_parse_to_canonical_variants() -> None:
    assert parse_variant("") == Variant() and Variant().is_clean
    assert parse_variant(":noise3") == Variant(noise=3.0, seeds=NOISY_SEEDS) == Variant(3, 2)
    assert parse_variant(":seeds2:noise3").suffix == ":noise3"
    assert parse_variant(":noise2.5:seeds4").suffix == ":noise2.5:seeds4"
    assert parse_variant(":noise3:seedsall") == Variant(3.0, None)
    assert parse_variant(":noise3:seedsall").suffix == ":noise3:seedsall"
    assert parse_variant(":noise1").is_clean and parse_variant(":seeds1").suffix == ":seeds1"
    for name in ["hpolib/protein_structure:noise3", "nasbench201/cifar10:noise2.5:seeds3"]:
        assert load_task(name).name == name


@pytest.mark.parametrize(
    ("suffix", "match"),
    [
        (":noise", "unknown task modifier 'noise'.*':noise<F>'"),
        (":loud3", "unknown task modifier 'loud3'"),
        (":noise3:noise2", "repeated task modifier 'noise2'"),
        (":", "unknown task modifier ''"),
        (":noise0", "noise factor must be > 0"),
        (":seeds0", "kept seeds must be >= 1"),
    ],
)
def test_bad_modifiers_say_the_syntax(suffix: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_task("hpolib/protein_structure" + suffix)


def test_variants_are_not_listed_but_globs_expand_to_them() -> None:
    assert not any(":" in t for t in list_tasks())
    assert match_tasks("hpolib/*:noise3") == [t + ":noise3" for t in list_tasks("hpolib")]
    assert match_tasks("nasbench201/cifar1*:seeds2:noise3") == [
        "nasbench201/cifar10:noise3",
        "nasbench201/cifar100:noise3",
    ]
    assert match_tasks("hpolib/*") == list_tasks("hpolib")
    assert match_tasks("nope/*:noise3") == []
    with pytest.raises(ValueError, match="unknown task"):
        load_task("hpolib/mnist:noise3")


@pytest.mark.parametrize("name", TASKS)
def test_truth_is_the_clean_tasks(name: str) -> None:
    clean, noisy = load_task(name), load_task(name + ":noise3")
    M = clean.all_matrix()
    np.testing.assert_array_equal(noisy.true_values(), clean.true_values())
    np.testing.assert_array_equal(noisy.true_value(M[:100]), clean.true_value(M[:100]))
    assert (noisy.g_star, noisy.g_median) == (clean.g_star, clean.g_median)
    assert noisy.best_config() == clean.best_config()
    reg = noisy.normalized_regret(noisy.true_values())
    np.testing.assert_array_equal(reg, clean.normalized_regret(clean.true_values()))


@pytest.mark.parametrize("name", TASKS)
def test_observations_are_a_kept_seed_with_its_deviation_scaled(name: str) -> None:
    noisy = load_task(name + ":noise3")
    table = noisy._table
    M = noisy.all_matrix()[:: len(noisy.all_matrix()) // 2000]
    obs = noisy.sample_observations(M, rng=0)
    assert np.isfinite(obs).all() and (obs > 0).all()  # losses stay positive (log scale)
    rows = noisy._rows(M)
    mean = table.means[noisy.metric][rows]
    kept = table.values[noisy.metric][rows, :NOISY_SEEDS]
    # every observation is mean + 3 * (recorded - mean) on the g scale, for one of the
    # first two recorded seeds
    want = noisy.g(mean)[:, None] + 3 * (noisy.g(kept) - noisy.g(mean)[:, None])
    hit = np.isclose(noisy.g(obs)[:, None], want, rtol=0, atol=1e-9)
    assert hit.any(axis=1).all()
    assert hit[:, 0].any() and hit[:, 1].any()


@pytest.mark.parametrize("name", TASKS)
def test_spread_is_three_times_the_recorded_one(name: str) -> None:
    clean, noisy = load_task(name), load_task(name + ":noise3")
    M = clean.all_matrix()
    rms = {
        t.name: np.sqrt(np.mean(_deviation(t, t.sample_observations(M, rng=1), M) ** 2))
        for t in (clean, noisy)
    }
    assert rms[noisy.name] / rms[clean.name] == pytest.approx(3.0, rel=0.1)
    one = load_task(name + ":noise3:seedsall")
    dev = _deviation(one, one.sample_observations(M, rng=1), M)
    # all seeds kept and the same draws: exactly 3 times the clean deviations
    np.testing.assert_allclose(dev, 3 * _deviation(clean, clean.sample_observations(M, 1), M))


def test_fixed_seed_fixed_draws() -> None:
    name = "hpolib/slice_localization:noise3"
    a, b = load_task(name, seed=4), load_task(name, seed=4)
    configs = a.space.sample(30, seed=0)
    first = [a(c)["val_loss"] for c in configs]
    assert [b(c)["val_loss"] for c in configs] == first
    assert len(set(first)) == len(first)
    a.reseed(4)
    one_by_one = [a.sample_observations([c])[0] for c in configs]
    assert one_by_one == first  # a call and a one-row batch draw alike
    M = a.space.to_matrix(configs)
    np.testing.assert_array_equal(a.sample_observations(M, 9), b.sample_observations(M, 9))
    assert not np.array_equal(a.sample_observations(M, 9), a.sample_observations(M, 10))


def test_other_metrics_are_the_drawn_seeds_recorded_values() -> None:
    task = load_task("hpolib/protein_structure:noise3", seed=0)
    clean = load_task("hpolib/protein_structure:seeds2", seed=0)
    for config in task.space.sample(20, seed=1):
        got, want = task(config), clean(config)
        assert got["train_time"] == want["train_time"]
        assert got["model_size"] == want["model_size"]
        mean = task.true_value(config)
        assert np.log10(got["val_loss"] / mean) == pytest.approx(
            3 * np.log10(want["val_loss"] / mean)
        )


def test_one_kept_seed_is_noise_free() -> None:
    task = load_task("nasbench201/cifar10:seeds1", seed=0)
    M = np.repeat(task.all_matrix()[:50], 20, axis=0)
    obs = task.sample_observations(M).reshape(50, 20)
    assert (obs == obs[:, :1]).all()
    np.testing.assert_array_equal(obs[:, 0], task._table.values["val_acc"][:50, 0])
