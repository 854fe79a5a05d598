"""Steps per second of the design environments (DesignEnv, DesignVecEnv) per learner.

Space: HPOLib's 9-parameter space (protein_structure), learners fitted on 200 random
configs with their recorded val_loss. Actions are uniform over ``Discrete(n_actions)``
(invalid ones are mapped, as an agent ignoring masks would cause); every reported step is
one env step (a DesignVecEnv step of N episodes counts N).

    python benchmarks/bench_env.py                 # forest and mlp_ensemble, N = 64, 256
    python benchmarks/bench_env.py --learners linear --seconds 1
    python benchmarks/bench_env.py --torch-threads 1   # small MLP batches: no thread thrash
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from metarl.benchmarks import load_task
from metarl.envs import DesignEnv, DesignVecEnv
from metarl.learners import make_learner

LEARNER_KWARGS = {"mlp_ensemble": {"epochs": 50, "random_state": 0}}


def rate(step: Callable[[], None], n_per_step: int, seconds: float) -> float:
    """Env steps per second of ``step()`` (called repeatedly for about ``seconds``)."""
    step()  # warm-up
    calls, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(10):
            step()
        calls += 10
    return calls * n_per_step / elapsed


def bench_single(env: DesignEnv, rng: np.random.Generator) -> Callable[[], None]:
    env.reset()
    acts = rng.integers(env.action_space.n, size=1 << 16)
    i = 0

    def step() -> None:
        nonlocal i
        *_, term, _, _ = env.step(acts[i & 0xFFFF])
        i += 1
        if term:
            env.reset()

    return step


def bench_vec(env: DesignVecEnv, rng: np.random.Generator) -> Callable[[], None]:
    env.reset()
    acts = rng.integers(env.action_space.n, size=(64, env.num_envs))
    i = 0

    def step() -> None:
        nonlocal i
        env.step(acts[i & 63])
        i += 1

    return step


def measure(label: str, env: DesignEnv | DesignVecEnv, seconds: float) -> float:
    rng = np.random.default_rng(0)
    if isinstance(env, DesignVecEnv):
        return rate(bench_vec(env, rng), env.num_envs, seconds)
    return rate(bench_single(env, rng), 1, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", nargs="+", default=["forest", "mlp_ensemble"])
    ap.add_argument("--n-envs", nargs="+", type=int, default=[64, 256])
    ap.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch intra-op threads (small-batch MLP predictions are fastest with 1)",
    )
    args = ap.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)

    task = load_task("hpolib/protein_structure", seed=0)
    space = task.space
    M = space.sample_matrix(200, seed=0)
    X, y = space.encode_matrix(M), task.sample_observations(M, rng=0)
    print(
        f"space: {task.name}, {len(space.decisions)} decisions, {space.cardinality} configs, "
        f"{space.encoded_width} features"
    )
    print(f"{'learner':<14}{'rewards':<9}{'env':<22}{'steps/s':>12}{'build s':>9}")
    for name in args.learners:
        learner = make_learner(name, **LEARNER_KWARGS.get(name, {})).fit(X, y)
        for precompute in (False, True):
            mode = "table" if precompute else "live"
            for n in [1, *args.n_envs]:
                kw = dict(acquisition="ucb", precompute=precompute)
                t0 = time.perf_counter()
                env = (
                    DesignEnv(space, learner, **kw)
                    if n == 1
                    else DesignVecEnv(space, learner, n, **kw)
                )
                build = time.perf_counter() - t0
                label = "DesignEnv" if n == 1 else f"DesignVecEnv N={n}"
                sps = measure(label, env, args.seconds)
                print(f"{name:<14}{mode:<9}{label:<22}{sps:>12,.0f}{build:>9.2f}")


if __name__ == "__main__":
    main()
