"""Scoring throughput of the on-device path: configs per second drawn, encoded and scored in
torch (issue 11, point 4: "assess billions of configs in seconds").

The space is the sklearn trainer's on digits (a 64-item feature Subset, the model and each
model's conditional hyperparameters, context: 2**73 configs, 92 features). Learners are
fitted on 512 synthetic results (the encoding's linear part plus a sine of another
projection, so nothing is downloaded); throughput does not depend on what they learned.

Stages, each in configs/s (wall clock, the device synchronised):
  sample codes     TorchSampler.sample_codes: the random draw, conditions applied
  sample+encode    TorchSampler.sample: the draw and the encoded float matrix
  score dense      TorchScorer on a drawn encoded matrix (a matmul of the encoding)
  score factored   TorchScorer.for_sampler on drawn codes (gathered first-layer rows)
  end-to-end       device_topk: draw, score and keep the top 10, in chunks, decoded at
                   the end (the path a surrogate_sampling proposal takes)
  draw+score fused with --compile: the random numbers' map to configs, the gathered first
                   layer and the head as one torch.compile graph (TorchScorer.for_uniforms);
                   the end-to-end rows then compile too (factored: the fused graph)

    python benchmarks/bench_scoring.py                      # CPU (2 workers), CUDA if present
    python benchmarks/bench_scoring.py --devices cuda --n 4294967296 --chunk 16777216
    python benchmarks/bench_scoring.py --learners mlp --kinds mean,ucb --compile
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from metarl.learners import LinearLearner, MLPEnsembleLearner
from metarl.learners._device_topk import device_topk
from metarl.learners._torch_scoring import TorchScorer
from metarl.space import SearchSpace
from metarl.space._torch import TorchSampler
from metarl.trainers import make_trainer

LEARNERS: dict[str, Callable[[], object]] = {
    "linear": lambda: LinearLearner(),
    # shallow: one hidden layer of 16 units, two members (a std for UCB)
    "small_mlp": lambda: MLPEnsembleLearner(n_members=2, hidden=16, n_layers=1, epochs=100),
    # the default architecture (8 members, 2 x 64); fewer epochs, same cost per config
    "mlp": lambda: MLPEnsembleLearner(epochs=50),
}


def fitted(name: str, space: SearchSpace) -> object:
    X = space.encode_matrix(space.sample_matrix(512, 0))
    rng = np.random.default_rng(0)
    y = X @ rng.normal(size=X.shape[1]) + np.sin(X @ rng.normal(size=X.shape[1]))
    return LEARNERS[name]().set_params(random_state=0).fit(X, y)


def rate(
    fn: Callable[[], int], device: torch.device, n: int, seconds: float
) -> tuple[float, float]:
    """Configs per wall-clock second and per CPU second (all threads) of ``fn`` (returns
    the configs it handled), called until ``n`` configs or ``seconds`` have passed (at
    least once)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    done, t, c = 0, time.perf_counter(), time.process_time()
    while done == 0 or (done < n and time.perf_counter() - t < seconds):
        done += fn()
    sync()
    return done / (time.perf_counter() - t), done / max(time.process_time() - c, 1e-9)


def row(label: str, learner: str, dtype: str, stage: str, r: tuple[float, float], n: str = ""):
    cpu = f"{r[1]:>11.3e}" if label.startswith("cpu") else f"{'-':>11}"
    print(f"{label:<6} {learner:<10} {dtype:<9} {stage:<30} {r[0]:>11.3e} {cpu} {n:>9}", flush=True)


def bench_device(args: argparse.Namespace, space: SearchSpace, device: torch.device) -> None:
    chunk = args.chunk or (1 << 22 if device.type == "cuda" else 1 << 18)
    n, secs = args.n, args.seconds
    cpu = device.type == "cpu"
    workers = args.threads if cpu else 1
    label, e2e_label = ("cpu/1", f"cpu/{workers}") if cpu else ("cuda", "cuda")
    if cpu:
        print(
            f"\n== CPU: stages on 1 thread, end-to-end on {workers} worker threads; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (chunk {chunk}) =="
        )
    else:
        print(f"\n== CUDA: {torch.cuda.get_device_name()} (chunk {chunk}) ==")
    print(
        f"{'device':<6} {'learner':<10} {'dtype':<9} {'stage':<30} {'configs/s':>11} "
        f"{'per CPU-s':>11} {'n':>9}"
    )
    sampler = TorchSampler(space, device, grid=True, seed=0)

    def stage(fn: Callable[[], int]) -> tuple[float, float]:
        fn()  # warm-up
        return rate(fn, device, n, secs)

    codes = stage(lambda: len(sampler.sample_codes(chunk)))
    row(label, "-", "-", "sample codes", codes)
    row(label, "-", "float32", "sample+encode", stage(lambda: len(sampler.sample(chunk))))
    draw = sampler.sample_codes(chunk)
    X = sampler.encode(draw)
    for name in args.learners.split(","):
        learner = fitted(name, space)
        dtypes = [torch.float32]
        if device.type == "cuda" and name != "linear":
            dtypes.append(torch.bfloat16)
        for dtype, kind in itertools.product(dtypes, args.kinds.split(",")):
            dt = str(dtype).removeprefix("torch.")
            scorer = TorchScorer(
                learner, acquisition=kind, device=device, dtype=dtype, compile=args.compile
            )
            score = {True: scorer.for_sampler(sampler), False: scorer}
            inputs = {True: draw, False: X.to(dtype)}
            if args.compile:  # the draw's map, the gathers and the head: one graph
                fused = scorer.for_uniforms(sampler)
                r = stage(lambda f=fused: len(f(sampler.draw_uniforms(chunk))))
                row(label, name, dt, f"draw+score fused ({kind})", r)
            for fac in (False, True):
                r = stage(lambda f=score[fac], x=inputs[fac]: len(f(x)))
                row(label, name, dt, f"score {'factored' if fac else 'dense'} ({kind})", r)
                # end to end, sized to take about 2 * seconds (a run of --n configs at most)
                guess = 1 / (1 / codes[0] + 1 / r[0])
                m = min(n, max(chunk, int(2 * secs * guess) // chunk * chunk))

                def run(m: int, fac=fac, dtype=dtype, kind=kind, learner=learner) -> int:
                    return device_topk(
                        space, learner, m, 10, device=device, seed=1, chunk=chunk,
                        acquisition=kind, dtype=dtype, factored=fac, compile=args.compile,
                        workers=workers,
                    ).n_scored  # fmt: skip

                run(chunk)  # warm-up
                r = rate(lambda m=m, run=run: run(m), device, m, 0.0)
                stage_name = f"end-to-end {'factored' if fac else 'dense'} ({kind})"
                row(e2e_label, name, dt, stage_name, r, f"{m:.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="cpu,cuda", help="'cuda' is skipped when absent")
    parser.add_argument(
        "--threads", type=int, default=2, help="CPU worker threads of the end-to-end runs"
    )
    parser.add_argument("--n", type=int, default=None, help="configs per end-to-end run "
                        "(default 2**22 on CPU, 2**30 on CUDA)")  # fmt: skip
    parser.add_argument("--chunk", type=int, default=None, help="configs per chunk "
                        "(default 2**18 on CPU, 2**22 on CUDA)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=1.0, help="time per stage figure")
    parser.add_argument("--learners", default="linear,small_mlp,mlp")
    parser.add_argument("--kinds", default="mean", help="acquisitions: mean,ucb,lcb")
    parser.add_argument("--compile", action="store_true", help="torch.compile the scorers")
    args = parser.parse_args()
    torch.set_num_threads(1)  # stages per core; end-to-end runs use --threads workers
    space = make_trainer("sklearn", dataset="digits", seed=0).space
    print(
        f"space: sklearn digits, 2**{space.log2_cardinality:.1f} configs, "
        f"{space.encoded_width} features; torch {torch.__version__}"
    )
    n_arg = args.n
    for name in args.devices.split(","):
        if name == "cuda" and not torch.cuda.is_available():
            print("\n(no CUDA device: skipped)")
            continue
        device = torch.device(name)
        args.n = n_arg or (1 << 30 if device.type == "cuda" else 1 << 22)
        bench_device(args, space, device)


if __name__ == "__main__":
    main()
