"""Torch scoring of the linear and MLP-ensemble learners, and the on-device top-k."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metarl import Boolean, Categorical, Float, Integer, SearchSpace, Subset
from metarl.learners import (
    AutoLearner,
    ForestLearner,
    LinearLearner,
    MLPEnsembleLearner,
    acquisition,
)
from metarl.learners._device_topk import device_topk
from metarl.learners._torch_scoring import TorchScorer, supports_torch_scoring
from metarl.space._torch import TorchSampler


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace(
        {
            "model": Categorical(["a", "b", "c"]),
            "C": Float(1e-3, 1e3, log=True, bins=6, active_if={"model": ["a"]}),
            "k": Integer(1, 40, log=True, active_if={"model": ["b"]}),
            "batch": Categorical([16, 32, 64]),
            "features": Subset([f"f{i}" for i in range(10)]),
            "flag": Boolean(),
        },
        context={"dataset": Categorical(["x", "y"])},
        context_values={"dataset": "y"},
    )


@pytest.fixture(scope="module")
def data(space):
    X = space.encode_matrix(space.sample_matrix(150, 0))
    rng = np.random.default_rng(0)
    y = X @ rng.normal(size=X.shape[1]) + np.sin(3 * X @ rng.normal(size=X.shape[1]))
    return X, y + 0.1 * rng.normal(size=len(y))


@pytest.fixture(scope="module")
def learners(data):
    X, y = data
    return {
        "linear": LinearLearner().fit(X, y),
        "mlp": MLPEnsembleLearner(n_members=4, hidden=16, epochs=20, random_state=0).fit(X, y),
        "mlp1": MLPEnsembleLearner(
            n_members=2, hidden=8, n_layers=1, epochs=20, random_state=0
        ).fit(X, y),
        "mlp3": MLPEnsembleLearner(
            n_members=3, hidden=8, n_layers=3, epochs=10, random_state=0
        ).fit(X, np.exp(y)),  # a log transform: the standardised scale is not y's
    }


@pytest.mark.parametrize("name", ["linear", "mlp", "mlp1", "mlp3"])
@pytest.mark.parametrize("kind", ["mean", "ucb", "lcb"])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_dense_scores_equal_the_acquisition(space, learners, name, kind, direction):
    learner = learners[name]
    X = TorchSampler(space, seed=0).sample(2000)
    scorer = TorchScorer(learner, acquisition=kind, kappa=1.5, direction=direction)
    got = scorer(X)
    assert got.shape == (2000,) and got.dtype == torch.float32
    ref = acquisition(learner, X.numpy(), kind, 1.5, direction)
    np.testing.assert_allclose(got.numpy(), ref, atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["linear", "mlp"])
@pytest.mark.parametrize("grid", [False, True])
def test_factored_scores_equal_dense_scores(space, learners, name, grid):
    sampler = TorchSampler(space, grid=grid, seed=1)
    draw = sampler.sample_codes(3000)
    scorer = TorchScorer(learners[name], acquisition="ucb", kappa=2.0)
    dense = scorer(sampler.encode(draw))
    np.testing.assert_allclose(scorer.for_sampler(sampler)(draw), dense, atol=2e-5)
    np.testing.assert_array_equal(scorer.for_sampler(sampler, factored=False)(draw), dense)


@pytest.mark.parametrize("name", ["linear", "mlp1"])
def test_scores_from_uniforms_equal_scores_from_codes(space, learners, name):
    sampler = TorchSampler(space, seed=4)
    u = sampler.draw_uniforms(3000)
    scorer = TorchScorer(learners[name], acquisition="ucb")
    from_codes = scorer.for_sampler(sampler)(sampler.codes_from_uniforms(u))
    np.testing.assert_allclose(scorer.for_uniforms(sampler)(u), from_codes, atol=2e-5)


@pytest.mark.slow
def test_compiled_device_topk_finds_the_exact_top():
    space = SearchSpace({"a": Categorical(list("abcd")), "b": Integer(1, 5), "d": Boolean()})
    M = np.concatenate(list(space.enumerate()))
    X = space.encode_matrix(M)
    learner = LinearLearner().fit(X, X @ np.random.default_rng(2).normal(size=X.shape[1]))
    top_M, _ = _exact_top(space, learner, 4, kind="mean")
    got = device_topk(space, learner, 5000, 4, seed=0, chunk=1024, compile=True)
    np.testing.assert_array_equal(got.matrix, top_M)


def test_bfloat16_scores_are_close(space, learners):
    X = TorchSampler(space, seed=2).sample(2000)
    exact = TorchScorer(learners["mlp"], acquisition="ucb")(X)
    bf16 = TorchScorer(learners["mlp"], acquisition="ucb", dtype=torch.bfloat16)(X)
    assert bf16.dtype == torch.float32
    assert (bf16 - exact).abs().max() < 0.1
    assert np.corrcoef(bf16.numpy(), exact.numpy())[0, 1] > 0.99


def test_auto_learner_uses_its_chosen_learner(space, data):
    X, y = data
    auto = AutoLearner(candidates=("linear",), cv=3).fit(X, y)
    Xt = TorchSampler(space, seed=3).sample(500)
    np.testing.assert_allclose(TorchScorer(auto)(Xt), acquisition(auto, Xt.numpy()), atol=2e-5)
    assert supports_torch_scoring(auto)


def test_learners_without_a_torch_path_are_refused(data):
    X, y = data
    forest = ForestLearner(n_estimators=5).fit(X, y)
    assert not supports_torch_scoring(forest)
    with pytest.raises(TypeError, match="no torch scoring path"):
        TorchScorer(forest)
    interactions = LinearLearner(interactions=True).fit(X, y)
    assert not supports_torch_scoring(interactions)
    with pytest.raises(ValueError, match="interactions"):
        TorchScorer(interactions)
    with pytest.raises(ValueError, match="acquisition must be one of"):
        TorchScorer(LinearLearner().fit(X, y), acquisition="pi")


def test_scorer_refuses_another_spaces_sampler(learners):
    other = TorchSampler(SearchSpace({"x": Boolean()}))
    with pytest.raises(ValueError, match="encodes 1 features"):
        TorchScorer(learners["linear"]).for_sampler(other)


def _exact_top(space, learner, k, **kw):
    M = np.concatenate(list(space.enumerate()))
    scores = acquisition(learner, space.encode_matrix(M), **kw)
    order = np.argsort(-scores)[:k]
    return M[order], scores[order]


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_device_topk_finds_the_exact_top_of_a_small_space(name):
    space = SearchSpace(
        {
            "a": Categorical(list("abcd")),
            "b": Integer(1, 6),
            "c": Float(0.0, 1.0, bins=4, active_if={"a": ["a", "b"]}),
            "d": Boolean(),
        }
    )
    M = np.concatenate(list(space.enumerate()))  # all 120 configs
    X = space.encode_matrix(M)
    y = X @ np.random.default_rng(1).normal(size=X.shape[1])
    learner = (
        LinearLearner() if name == "linear" else MLPEnsembleLearner(n_members=2, epochs=30)
    ).fit(X, y)
    top_M, top_scores = _exact_top(space, learner, 8, kind="ucb", kappa=1.0, direction="maximize")
    # 20k draws of a 120-config space: every config drawn, duplicates crowd each chunk
    got = device_topk(
        space, learner, 20_000, 8, seed=0, chunk=4096, acquisition="ucb", direction="maximize"
    )
    assert got.n_scored == 20_000 and len(got.configs) == 8
    np.testing.assert_allclose(got.scores, top_scores, rtol=1e-9)
    np.testing.assert_array_equal(got.matrix, top_M)
    assert got.configs == space.to_configs(top_M)
    # two worker threads, each its own chunks: the same exact top, reproducibly
    two = device_topk(space, learner, 20_000, 8, seed=0, chunk=2048, acquisition="ucb",
                      direction="maximize", workers=2)  # fmt: skip
    np.testing.assert_array_equal(two.matrix, top_M)
    # excluded configs never come back; the next best take their places
    again = device_topk(
        space, learner, 20_000, 3, seed=1, acquisition="ucb", direction="maximize",
        exclude=got.configs[:2],
    )  # fmt: skip
    assert again.configs == got.configs[2:5]
    # fewer distinct configs than asked: all of them
    tiny = SearchSpace({"x": Boolean()})
    Xt = tiny.encode([{"x": False}, {"x": True}])
    res = device_topk(tiny, LinearLearner().fit(Xt, [0.0, 1.0]), 1000, 5, seed=0)
    assert res.configs == [{"x": False}, {"x": True}]  # minimised by default


def test_device_topk_on_a_large_space_returns_valid_distinct_configs(space, learners):
    got = device_topk(space, learners["mlp"], 50_000, 10, seed=0, chunk=8192, grid=False)
    assert len({str(c) for c in got.configs}) == 10
    for cfg in got.configs:
        space.validate(cfg)
    assert (np.diff(got.scores) <= 0).all()
    sample = TorchSampler(space, seed=5).sample(50_000)
    assert got.scores[-1] > np.quantile(acquisition(learners["mlp"], sample.numpy()), 0.999)
    with pytest.raises(ValueError, match="n and k"):
        device_topk(space, learners["mlp"], 0, 10)
    with pytest.raises(ValueError, match="workers"):
        device_topk(space, learners["mlp"], 10, 10, workers=0)


def test_device_topk_workers_are_reproducible(space, learners):
    before = torch.get_num_threads()
    runs = [
        device_topk(space, learners["linear"], 30_000, 5, seed=3, chunk=4096, workers=2)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].matrix, runs[1].matrix)
    assert torch.get_num_threads() == before  # restored after the workers' block


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("factored", [False, True])
def test_cuda_scoring_and_topk(space, learners, dtype, factored):
    learner = learners["mlp"]
    sampler = TorchSampler(space, "cuda", seed=0)
    draw = sampler.sample_codes(4096)
    scorer = TorchScorer(learner, acquisition="ucb", device="cuda", dtype=dtype)
    got = scorer.for_sampler(sampler, factored=factored)(draw).cpu().numpy()
    ref = acquisition(learner, sampler.encode(draw).cpu().numpy(), "ucb", 1.0)
    np.testing.assert_allclose(got, ref, atol=0.1 if dtype == torch.bfloat16 else 1e-4)
    res = device_topk(
        space, learner, 200_000, 5, device="cuda", seed=0, dtype=dtype, factored=factored
    )
    for cfg in res.configs:
        space.validate(cfg)
