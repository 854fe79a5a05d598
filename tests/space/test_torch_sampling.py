"""TorchSampler: configs drawn in torch are those numpy draws, encoded the same way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl import Boolean, Categorical, Float, Integer, SearchSpace, Subset
from metarl.agents._sampling import GridSampler
from metarl.space._torch import TorchSampler

N = 40_000


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    """Every kind and every drawing path: tables, continuous Floats, wide and log Integers
    (one a parent), Subsets with min_size (one conditional), nested conditions, context."""
    return SearchSpace(
        {
            "model": Categorical(["svm", "knn", "gb", "mlp"]),
            "C": Float(1e-3, 1e3, log=True, bins=8, active_if={"model": ["svm"]}),
            "k": Integer(1, 50, active_if={"model": ["knn", "gb"]}),
            "depth": Integer(1, 4, log=True, active_if={"model": ["gb"]}),
            "leaf": Categorical(["a", "b"], active_if={"depth": [1]}),
            "width": Integer(1, 100_000, active_if={"model": ["mlp"]}),
            "units": Integer(8, 4096, log=True),
            "batch": Categorical([16, 32, 64, 128]),
            "lr": Float(1e-4, 1.0, log=True),
            "features": Subset([f"f{i}" for i in range(11)], min_size=2),
            "drop": Subset(["x", "y", "z"], min_size=1, active_if={"model": ["mlp"]}),
            "scale": Boolean(),
        },
        context={"dataset": Categorical(["a", "b", "c"]), "n": Integer(1, 10**6, log=True)},
        context_values={"dataset": "b", "n": 1000},
    )


def _numpy_features(space: SearchSpace, grid: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    if grid:
        return GridSampler(space).sample(N, rng)[2]
    return space.encode_matrix(space.sample_matrix(N, rng))


@pytest.mark.parametrize("grid", [False, True])
def test_same_columns_and_marginals_as_numpy(space, grid):
    X = TorchSampler(space, grid=grid, seed=0).sample(N)
    assert X.shape == (N, space.encoded_width) and X.dtype == torch.float32
    ref = _numpy_features(space, grid)
    # every column: the same mean (a binary feature's frequency) within sampling noise
    # (std of a mean <= 0.5 / sqrt(N) = 0.0025), and the same spread
    np.testing.assert_allclose(X.mean(0).numpy(), ref.mean(0), atol=0.015)
    np.testing.assert_allclose(X.std(0).numpy(), ref.std(0), atol=0.015)
    # pairs too: the co-activation of features (conditions couple them)
    Xn = X.numpy().astype(np.float64)
    np.testing.assert_allclose(Xn.T @ Xn / N, ref.T @ ref / N, atol=0.015)


@pytest.mark.parametrize("grid", [False, True])
def test_rows_decode_to_valid_configs_that_encode_back(space, grid):
    sampler = TorchSampler(space, grid=grid, seed=1)
    X = sampler.sample(3000)
    M = sampler.decode(X)
    configs = space.to_configs(M)
    for cfg in configs[:300]:
        space.validate(cfg)  # conditions respected: actives present, inactives absent
    again = space.encode(configs)
    np.testing.assert_allclose(again, X.numpy(), atol=1e-6 if not grid else 0.0)
    if grid:  # values lie on the design grid exactly
        np.testing.assert_array_equal(space.snap_to_grid(M), M)


def test_conditions_zero_inactive_features(space):
    X = TorchSampler(space, seed=2).sample(5000).numpy()
    for name, p in space.params.items():
        if p.active_if:
            fs = space.feature_slices[name]
            active = X[:, fs.start]
            assert set(np.unique(active)) <= {0.0, 1.0}
            assert (X[active == 0, fs.start : fs.stop] == 0).all()
    model = X[:, space.feature_slices["model"]].argmax(1)
    depth_active = X[:, space.feature_slices["depth"].start]
    np.testing.assert_array_equal(depth_active, model == 2)
    leaf_active = X[:, space.feature_slices["leaf"].start]
    assert (leaf_active <= depth_active).all() and 0.0 < leaf_active.mean() < depth_active.mean()


def test_children_of_one_option_are_independent():
    """Children of different options share random numbers (never active together);
    children of the same option must not."""
    space = SearchSpace(
        {
            "model": Categorical(["svm", "knn"]),
            "C": Float(0.0, 1.0, active_if={"model": ["svm"]}),
            "gamma": Float(0.0, 1.0, active_if={"model": ["svm"]}),
            "k": Float(0.0, 1.0, active_if={"model": ["knn"]}),
        }
    )
    sampler = TorchSampler(space, seed=0)
    assert sampler.layout.n_uniforms == 3  # model, then two rows shared by svm's and knn's
    X = sampler.sample(20_000).numpy()
    svm = X[:, space.feature_slices["C"].start] == 1
    C, gamma = (
        X[svm, space.feature_slices["C"].stop - 1],
        X[svm, space.feature_slices["gamma"].stop - 1],
    )
    assert abs(np.corrcoef(C, gamma)[0, 1]) < 0.05
    np.testing.assert_allclose([C.mean(), gamma.mean()], 0.5, atol=0.02)


def test_subsets_uniform_over_allowed_subsets():
    space = SearchSpace({"s": Subset(["a", "b", "c", "d"], min_size=3)})
    X = TorchSampler(space, seed=0).sample(20_000).numpy()
    assert (X.sum(1) >= 3).all()
    _, counts = np.unique(X, axis=0, return_counts=True)
    assert len(counts) == 5  # the 4 three-item subsets and the full one
    np.testing.assert_allclose(counts / 20_000, 0.2, atol=0.02)


def test_codes_are_rows_summed(space):
    """The encoding is the sum of the rows the codes pick, plus the dense and context
    parts: the identity the factored scorer relies on."""
    sampler = TorchSampler(space, seed=3)
    draw = sampler.sample_codes(2000)
    X = sampler.encode(draw).numpy()
    rows = sampler.rows[draw.codes.numpy()].sum(1)
    rows[:, sampler.dense_columns] += draw.dense.T.numpy()
    np.testing.assert_allclose(rows + sampler.context_row, X, atol=1e-6)
    np.testing.assert_array_equal(sampler.encode(draw.take(torch.arange(5))).numpy(), X[:5])
    # configs are a function of their random numbers: a subset of them, the same configs
    u = sampler.draw_uniforms(1000)
    rows = torch.tensor([3, 999, 0])
    np.testing.assert_array_equal(
        sampler.encode_uniforms(u.take(rows)).numpy(), sampler.encode_uniforms(u)[rows].numpy()
    )


def test_seeds_dtype_and_errors(space):
    a = TorchSampler(space, seed=7).sample(100)
    b = TorchSampler(space, seed=7).sample(100)
    c = TorchSampler(space, seed=8).sample(100)
    assert torch.equal(a, b) and not torch.equal(a, c)
    sampler = TorchSampler(space, seed=7)
    sampler.sample(10)
    sampler.reseed(7)
    assert torch.equal(sampler.sample(100), a)
    assert TorchSampler(space, dtype=torch.bfloat16).sample(10).dtype == torch.bfloat16
    assert TorchSampler(space).sample(0).shape == (0, space.encoded_width)
    with pytest.raises(ValueError, match="floating"):
        TorchSampler(space, dtype=torch.int32)
    with pytest.raises(ValueError, match="n must be"):
        TorchSampler(space).sample(-1)


def test_context_without_values_is_an_error():
    space = SearchSpace({"x": Boolean()}, context={"hw": Categorical(["cpu", "gpu"])})
    with pytest.raises(ValueError, match="context"):
        TorchSampler(space)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_draws_match_numpy_marginals(space):
    X = TorchSampler(space, "cuda", seed=0).sample(N)
    assert X.device.type == "cuda"
    ref = _numpy_features(space, grid=False)
    np.testing.assert_allclose(X.mean(0).cpu().numpy(), ref.mean(0), atol=0.015)
