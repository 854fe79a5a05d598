"""Encode throughput of the search space (configs/s), printed as figures.

python benchmarks/bench_space.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import time

from metarl import Boolean, Categorical, Float, Integer, SearchSpace, Subset


def spaces() -> dict[str, SearchSpace]:
    hpolib = SearchSpace(
        {
            "activation_fn_1": Categorical(["relu", "tanh"]),
            "activation_fn_2": Categorical(["relu", "tanh"]),
            "batch_size": Categorical([8, 16, 32, 64], log=True),
            "dropout_1": Categorical([0.0, 0.3, 0.6]),
            "dropout_2": Categorical([0.0, 0.3, 0.6]),
            "init_lr": Categorical([5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1], log=True),
            "lr_schedule": Categorical(["cosine", "const"]),
            "n_units_1": Categorical([16, 32, 64, 128, 256, 512], log=True),
            "n_units_2": Categorical([16, 32, 64, 128, 256, 512], log=True),
        }
    )
    conditional = SearchSpace(
        {
            "features": Subset([f"c{i}" for i in range(40)]),
            "model": Categorical(["logreg", "svm", "gb", "knn"]),
            "C": Float(1e-3, 1e3, log=True, active_if={"model": ["logreg", "svm"]}),
            "gamma": Float(1e-4, 1e1, log=True, active_if={"model": ["svm"]}),
            "lr": Float(1e-3, 1.0, log=True, active_if={"model": ["gb"]}),
            "depth": Integer(2, 12, active_if={"model": ["gb"]}),
            "k": Integer(1, 50, active_if={"model": ["knn"]}),
            "scale": Boolean(),
        }
    )
    return {"hpolib (9 params)": hpolib, "40-col subset + conditional models": conditional}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    for name, space in spaces().items():
        t = time.perf_counter()
        M = space.sample_matrix(args.n, seed=0)
        t_sample = time.perf_counter() - t
        t = time.perf_counter()
        X = space.encode_matrix(M)
        t_encode = time.perf_counter() - t
        print(
            f"{name}: sample {args.n / t_sample:,.0f} configs/s, encode {args.n / t_encode:,.0f} "
            f"configs/s ({X.shape[1]} features, cardinality 2^{space.log2_cardinality:.1f})"
        )


if __name__ == "__main__":
    main()
