"""The best of many uniformly drawn configs, found on a torch device end to end.

:func:`device_topk` samples (:class:`~metarl.space._torch.TorchSampler`), scores
(:class:`~metarl.learners._torch_scoring.TorchScorer`) and keeps a running top-k in torch,
chunk by chunk: only the kept rows ever reach numpy, where they are decoded to configs and
rescored exactly by :func:`~metarl.learners.acquisition`. It is the fast path of a
``surrogate_sampling`` proposal: ``device_topk(space, learner, n_samples, pool_size, ...)``
gives the candidate matrix and scores that ``SurrogateSampling._candidates`` builds with
numpy, for learners with a torch path (see :func:`supports_torch_scoring`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import torch

from metarl.learners._acquisition import AcquisitionKind, check_learner
from metarl.learners._acquisition import acquisition as exact_acquisition
from metarl.learners._base import MetaLearner
from metarl.learners._torch import single_thread
from metarl.learners._torch_scoring import TorchScorer
from metarl.space import SearchSpace
from metarl.space._torch import TorchSampler
from metarl.type_aliases import Config, ConfigMatrix, Direction


class TopKResult(NamedTuple):
    """What :func:`device_topk` found.

    Attributes:
        configs: the best distinct configs, best first (excluded ones left out).
        matrix: their value matrix (``space.to_configs(matrix) == configs``).
        scores: their acquisition, recomputed exactly by ``metarl.learners.acquisition``.
        n_scored: how many configs were drawn and scored.
    """

    configs: list[Config]
    matrix: ConfigMatrix
    scores: np.ndarray
    n_scored: int


class RunningTopK:
    """The ``capacity`` best distinct rows seen over many scored chunks, kept on the device.

    A chunk contributes its ``capacity`` best rows (more when duplicates crowd them: the
    cut widens until it holds ``capacity`` distinct rows), merged with the pool and
    deduplicated by ``torch.unique`` on the encoded rows.
    """

    def __init__(self, capacity: int, width: int, device: torch.device) -> None:
        self.capacity = int(capacity)
        self.X = torch.empty((0, width), device=device)
        self.scores = torch.empty(0, device=device)

    def add(self, scores: torch.Tensor, rows: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Merge a chunk: ``scores`` of its configs, ``rows(index)`` their encodings."""
        m = len(scores)
        k = min(self.capacity, m)
        while True:
            top_scores, top = torch.topk(scores, k, sorted=False)
            X = rows(top)
            if k == m or len(torch.unique(X, dim=0)) >= self.capacity:
                break
            k = min(4 * k, m)
        X = torch.cat([self.X, X.to(self.X.dtype)])
        s = torch.cat([self.scores, top_scores.float()])
        X, inverse = torch.unique(X, dim=0, return_inverse=True)
        best = torch.full((len(X),), -torch.inf, device=s.device)
        best = best.scatter_reduce(0, inverse, s, reduce="amax")
        keep = torch.topk(best, min(self.capacity, len(X)), sorted=False).indices
        self.X, self.scores = X[keep], best[keep]


def device_topk(
    space: SearchSpace,
    learner: MetaLearner,
    n: int,
    k: int,
    *,
    device: str | torch.device = "cpu",
    seed: int | None = None,
    acquisition: AcquisitionKind = "mean",
    kappa: float = 1.0,
    incumbent: float | None = None,
    direction: Direction = "minimize",
    target: int = 0,
    exclude: Sequence[Config] = (),
    chunk: int | None = None,
    dtype: torch.dtype = torch.float32,
    grid: bool = True,
    factored: bool | None = None,
    compile: bool | str = False,
    workers: int = 1,
) -> TopKResult:
    """Draw ``n`` uniform configs on ``device``, score them there, return the ``k`` best.

    Args:
        space: the search space.
        learner: a fitted learner with a torch path (linear, MLP ensemble, or ``auto`` when
            it chose one of them).
        n: how many configs to draw and score.
        k: how many distinct configs to return (fewer when the space holds fewer outside
            ``exclude``).
        device: where to sample and score (``"cpu"``, ``"cuda"``, ...).
        seed: seed of the sampler's generator.
        acquisition: ``"mean"``, ``"ucb"``, ``"lcb"`` or ``"ei"`` (as ``acquisition``'s
            kind).
        kappa: weight of the std in ``ucb``/``lcb``.
        incumbent: for ``"ei"`` (required there): what it improves on, as
            ``acquisition``'s ``incumbent`` (a ``Problem``'s ``incumbent``).
        direction: the metric's direction.
        target: the objective's target column.
        exclude: configs never to return (e.g. those already evaluated).
        chunk: configs per chunk (default: 2**16 on CPU, 2**22 on CUDA); memory is
            ``O(chunk * encoded_width)``.
        dtype: scoring dtype (``torch.bfloat16`` for the MLP on CUDA); the returned scores
            are exact whatever it is.
        grid: draw on the design grid (as ``SurrogateSampling`` does) rather than as
            ``space.sample_matrix`` does.
        factored: score from the sampler's codes by gathering first-layer rows (no
            encoded matrix) rather than by a matmul of the encoding. Default: always on
            CPU, on CUDA when the first layer is at most 64 wide (a wide first layer is a
            better use of the GPU's matmul units than of its gathers).
        compile: ``torch.compile`` the scoring (a string is the mode). Factored, the
            whole map from the random numbers to the scores is one graph
            (:meth:`TorchScorer.for_uniforms`); the last chunk is drawn full-size then cut,
            so that one shape is compiled.
        workers: CPU threads, each drawing and scoring its own chunks with one torch
            thread (torch's own intra-op threads are set to 1 meanwhile). Chunks of a few
            thousand configs are many small ops: split over threads inside each op, every
            op waits for the slowest thread, which on a loaded machine is a descheduled
            one; separate streams of chunks do not wait for each other.

    Returns:
        A :class:`TopKResult`, best first.
    """
    check_learner(space, learner)
    if n < 1 or k < 1:
        raise ValueError(f"n and k must be >= 1, got n={n} and k={k}")
    device = torch.device(device)
    chunk = chunk or (1 << 22 if device.type == "cuda" else 1 << 16)
    scorer = TorchScorer(
        learner,
        acquisition=acquisition,
        kappa=kappa,
        incumbent=incumbent,
        direction=direction,
        target=target,
        device=device,
        dtype=dtype,
        compile=compile,
    )
    if factored is None:
        factored = device.type == "cpu" or scorer.weight.shape[1] <= 64
    if workers < 1 or (workers > 1 and device.type != "cpu"):
        raise ValueError(f"workers must be >= 1, and 1 off the CPU; got {workers}")
    seeds = [seed] if workers == 1 or seed is None else _spawn(seed, workers)
    if len(seeds) < workers:  # unseeded: each worker its own fresh generator
        seeds = [None] * workers
    samplers = [TorchSampler(space, device, grid=grid, seed=s) for s in seeds]
    excluded = set(space.keys(space.to_matrix(list(exclude)))) if len(exclude) else set()
    pools = [RunningTopK(k + len(excluded), space.encoded_width, device) for _ in samplers]
    sizes = [min(chunk, n - start) for start in range(0, n, chunk)]

    def scan(w: int) -> None:
        sampler, pool = samplers[w], pools[w]
        with torch.inference_mode():  # thread-local: entered in each worker
            if compile and factored:  # one compiled graph from the random numbers on
                fused = scorer.for_uniforms(sampler)
                for size in sizes[w::workers]:
                    u = sampler.draw_uniforms(chunk)  # full chunks: one shape, one compile
                    pool.add(fused(u)[:size], lambda i, u=u: sampler.encode_uniforms(u.take(i)))
                return
            score_codes = scorer.for_sampler(sampler, factored=factored)
            for size in sizes[w::workers]:
                draw = sampler.sample_codes(size)
                pool.add(score_codes(draw), lambda i, d=draw: sampler.encode(d.take(i)))

    if workers == 1:
        scan(0)
    else:  # one chunk stream per thread, one torch thread each: no barrier between cores
        with single_thread(), ThreadPoolExecutor(workers) as ex:
            list(ex.map(scan, range(workers)))
    pool = pools[0]
    with torch.inference_mode():
        for other in pools[1:]:
            pool.add(other.scores, lambda i, X=other.X: X[i])
    return _finish(space, learner, samplers[0], pool, k, excluded, scorer, n)


def _spawn(seed: int, workers: int) -> list[int]:
    """Independent seeds of ``workers`` generators, from one seed."""
    children = np.random.SeedSequence(seed).spawn(workers)
    return [int(c.generate_state(1)[0]) for c in children]


def _finish(
    space: SearchSpace,
    learner: MetaLearner,
    sampler: TorchSampler,
    pool: RunningTopK,
    k: int,
    excluded: set[bytes],
    scorer: TorchScorer,
    n: int,
) -> TopKResult:
    """Decode the pool, drop excluded configs, rescore exactly, keep the best ``k``."""
    M = sampler.decode(pool.X)
    keys = space.keys(M)
    seen = set(excluded)
    keep = []
    for i, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            keep.append(i)
    M = M[keep]
    direction = "maximize" if scorer.sign > 0 else "minimize"
    target = scorer.target
    scores = exact_acquisition(
        learner,
        space.encode_matrix(M),
        scorer.kind,
        scorer.kappa,
        direction,
        target,
        incumbent=scorer.incumbent,
    )
    order = np.argsort(-scores, kind="stable")[:k]
    M, scores = M[order], scores[order]
    return TopKResult(space.to_configs(M), M, scores, n)
