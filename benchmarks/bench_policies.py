"""Search-policy benchmark: the three acceptance figures of the policy issue.

(a) HPOLib protein_structure, forest meta-learner fitted to 200 noisy configs: the best
    proposal's acquisition, normalised between the space's mean (0) and its exhaustive
    maximum (1), for PPO (with its training time) and for random / surrogate_sampling.
(b) The sklearn trainer's space on digits (a 64-item feature Subset, model choice and
    conditional hyperparameters: ~2**73 configs), forest learner fitted to real CV results of
    the trainer: PPO and surrogate_sampling, best proposal's acquisition (predicted val_acc)
    vs learner evaluations.
(c) surrogate_sampling throughput (configs scored per second) on a 12-parameter space with
    the MLP-ensemble learner, on the CPU and on CUDA when present.

    python benchmarks/bench_policies.py                  # all parts
    python benchmarks/bench_policies.py --parts a --ppo-rounds 6
    python benchmarks/bench_policies.py --parts b --ppo-timesteps 20000 --ppo-rounds 8 \
        --budgets 1000,4000,8000,16000,32000,64000,256000
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from metarl.agents import make_policy
from metarl.agents._sampling import GridSampler  # internal: the benchmark times it alone
from metarl.benchmarks import load_task
from metarl.learners import acquisition, make_learner
from metarl.learners._base import MetaLearner
from metarl.space import Categorical, Float, Integer, SearchSpace

warnings.filterwarnings("ignore")


class Counting(MetaLearner):
    """Wraps a fitted learner and counts the configs it scores."""

    def __init__(self, inner: MetaLearner) -> None:
        self.inner = inner
        self.n_features_in_ = inner.n_features_in_
        self.n_targets_ = getattr(inner, "n_targets_", 1)
        self.target_names_ = getattr(inner, "target_names_", ["y0"])
        self.count_ = 0

    def fit(self, X, y, *, target_names=None):
        self.inner.fit(X, y, target_names=target_names)
        self.n_features_in_ = self.inner.n_features_in_
        return self

    def predict(self, X, return_std=False):
        self.count_ += len(X)
        return self.inner.predict(X, return_std=return_std)


def part_a(args: argparse.Namespace) -> None:
    print("\n== (a) HPOLib protein_structure, forest learner on 200 noisy configs ==")
    task = load_task("hpolib/protein_structure", seed=0)
    space = task.space
    M = space.sample_matrix(200, seed=0)
    learner = make_learner("forest", random_state=0).fit(
        space.encode_matrix(M), task.sample_observations(M)
    )
    t = time.perf_counter()
    acq_all = np.concatenate(
        [acquisition(learner, space.encode_matrix(c)) for c in space.enumerate()]
    )
    lo, hi = acq_all.mean(), acq_all.max()
    print(f"exhaustive: {len(acq_all)} configs scored in {time.perf_counter() - t:.1f} s")

    def norm(configs):
        return (acquisition(learner, space.encode(configs)).max() - lo) / (hi - lo)

    for n in (256, 5000):
        vals = [norm(space.sample(n, seed=s)) for s in range(10)]
        print(f"random {n:>5}: {np.mean(vals) * 100:.2f} % (mean of 10 seeds)")
    for n in (10**4, 10**5, 10**6):
        p = make_policy("surrogate_sampling", n_samples=n, seed=0)
        t = time.perf_counter()
        c = p.propose(space, learner, 10)
        print(f"surrogate_sampling {n:>7}: {norm(c) * 100:.2f} % ({time.perf_counter() - t:.1f} s)")
    for seed in range(args.ppo_seeds):
        p = make_policy("ppo", timesteps=args.ppo_timesteps, seed=seed)
        elapsed = 0.0
        for r in range(args.ppo_rounds):
            t = time.perf_counter()
            p.train(space, learner)
            elapsed += time.perf_counter() - t
            t = time.perf_counter()
            proposals = _ppo_proposals(p, space, learner)
            print(
                f"ppo seed {seed} after {(r + 1) * args.ppo_timesteps:>6} steps, "
                f"{elapsed:5.1f} s training: best proposal {norm(proposals) * 100:.3f} % "
                f"(sampling {time.perf_counter() - t:.1f} s)"
            )


def _ppo_proposals(policy, space, learner):
    """Proposals of the current model without training it further."""
    steps, policy.timesteps = policy.timesteps, 0
    try:
        return policy.propose(space, learner, 10)
    finally:
        policy.timesteps = steps


def _sklearn_data(dataset: str, n: int, cache: Path):
    """``n`` real CV results of the sklearn trainer on ``dataset`` (cached in ``cache``)."""
    from metarl.trainers import make_trainer

    trainer = make_trainer("sklearn", dataset=dataset, seed=0)
    space = trainer.space
    if cache.exists():
        d = json.loads(cache.read_text())
        configs, y = d["configs"], d["y"]
    else:
        configs, y = [], []
    if len(configs) < n:
        t = time.perf_counter()
        new = space.sample(n - len(configs), seed=len(configs))
        for cfg in new:
            configs.append({k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()})
            y.append(trainer(cfg)["val_acc"])
        print(f"trained {len(new)} sklearn configs in {time.perf_counter() - t:.0f} s")
        cache.write_text(json.dumps({"configs": configs, "y": y}))
    configs = [
        {k: tuple(v) if isinstance(v, list) else v for k, v in c.items()} for c in configs[:n]
    ]
    return space, configs, np.asarray(y[:n])


def part_b(args: argparse.Namespace) -> None:
    print(f"\n== (b) sklearn {args.dataset} space, PPO vs surrogate_sampling ==")
    cache = Path(args.cache.format(dataset=args.dataset))
    space, configs, y = _sklearn_data(args.dataset, args.sklearn_n, cache)
    print(
        f"space: {space.cardinality:.3g} configs (2**{np.log2(float(space.cardinality)):.1f}), "
        f"{len(y)} real CV results, val_acc in [{y.min():.3f}, {y.max():.3f}]"
    )
    inner = make_learner("forest", random_state=0).fit(space.encode(configs), y)

    def best(proposals):
        """Best acquisition among ``proposals`` (the learner's standardised scale) and that
        config's predicted val_acc."""
        X = space.encode(proposals)
        acq = acquisition(inner, X, direction="maximize")
        return acq.max(), float(np.ravel(inner.predict(X[[acq.argmax()]]))[0])

    print("policy              seed  learner evals  best acquisition  its predicted val_acc")
    rows: dict[str, list[tuple[int, float]]] = {"surrogate_sampling": [], "ppo": []}
    for b in (int(b) for b in args.budgets.split(",")):
        for seed in range(args.sampling_seeds):
            learner = Counting(inner)
            c = make_policy("surrogate_sampling", n_samples=b, seed=seed).propose(
                space, learner, 10, direction="maximize"
            )
            acq, val = best(c)
            rows["surrogate_sampling"].append((learner.count_, acq))
            print(f"surrogate_sampling  {seed:>4}  {learner.count_:>13}  {acq:>16.4f}  {val:.4f}")
    for seed in range(args.ppo_seeds):
        learner = Counting(inner)
        p = make_policy("ppo", timesteps=args.ppo_timesteps, n_samples=1024, seed=seed)
        t = time.perf_counter()
        for _ in range(args.ppo_rounds):  # each round fine-tunes, then samples its proposals
            acq, val = best(p.propose(space, learner, 10, direction="maximize"))
            rows["ppo"].append((learner.count_, acq))
            print(
                f"ppo                 {seed:>4}  {learner.count_:>13}  {acq:>16.4f}  {val:.4f}"
                f"  ({time.perf_counter() - t:.0f} s)"
            )
    print("mean best acquisition by learner evaluations (nearest budget, mean over seeds):")
    for name, pts in rows.items():
        by: dict[int, list[float]] = {}
        for n, acq in pts:
            by.setdefault(int(round(n, -3)), []).append(acq)
        curve = ", ".join(f"{n}: {np.mean(v):.4f}" for n, v in sorted(by.items()))
        print(f"  {name}: {curve}")


def part_c(args: argparse.Namespace) -> None:
    print("\n== (c) surrogate_sampling throughput, 12 parameters, MLP ensemble ==")
    params = {}
    for i in range(4):
        params[f"c{i}"] = Categorical([f"v{j}" for j in range(4)])
        params[f"i{i}"] = Integer(1, 64, log=True)
        params[f"f{i}"] = Float(1e-4, 1.0, log=True)
    space = SearchSpace(params)
    M = space.sample_matrix(256, seed=0)
    X = space.encode_matrix(M)
    y = X @ np.sin(np.arange(X.shape[1]) + 1.0)
    rng = np.random.default_rng(0)
    sampler = GridSampler(space)
    t = time.perf_counter()
    for _ in range(8):
        sampler.sample(1 << 17, rng)
    rate = 8 * (1 << 17) / (time.perf_counter() - t)
    print(f"GridSampler.sample (sampling + encoding, the policy's own part): {rate:.3g}/s")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    runs = [("linear", "cpu", {})] + [
        ("mlp_ensemble", d, {"epochs": 20, "device": d, "random_state": 0}) for d in devices
    ]
    for kind, device, kw in runs:
        learner = make_learner(kind, **kw).fit(X, y)
        n = args.throughput_n if kind == "mlp_ensemble" else 4 * args.throughput_n
        Xb = space.encode_matrix(space.sample_matrix(1 << 17, seed=1))
        t = time.perf_counter()
        learner.predict(Xb)
        pred = (1 << 17) / (time.perf_counter() - t)
        p = make_policy("surrogate_sampling", n_samples=n, chunk_size=1 << 17, seed=0)
        t = time.perf_counter()
        p.propose(space, learner, 10)
        dt = time.perf_counter() - t
        name = (
            torch.cuda.get_device_name() if device == "cuda" else f"cpu x{torch.get_num_threads()}"
        )
        print(
            f"{kind} on {name}: {n / dt:.3g} configs/s end to end ({n} in {dt:.1f} s); "
            f"learner.predict alone {pred:.3g}/s"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="abc")
    ap.add_argument("--ppo-timesteps", type=int, default=10_000)
    ap.add_argument("--ppo-rounds", type=int, default=4)
    ap.add_argument("--ppo-seeds", type=int, default=2)
    ap.add_argument("--dataset", default="digits", help="sklearn trainer dataset of part (b)")
    ap.add_argument("--sklearn-n", type=int, default=120)
    ap.add_argument("--budgets", default="1000,4000,16000,64000,256000")
    ap.add_argument("--sampling-seeds", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/metarl_bench_sklearn_{dataset}.json")
    ap.add_argument("--throughput-n", type=int, default=1 << 21)
    args = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}, cuda: {torch.cuda.is_available()}")
    for part in args.parts:
        {"a": part_a, "b": part_b, "c": part_c}[part](args)


if __name__ == "__main__":
    main()
