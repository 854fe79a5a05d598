"""Write an example runs CSV: noisy recorded runs of HPOLib tasks, one row per run.

Usage::

    python experiments/make_runs.py --out runs.csv --n 200 --datasets protein_structure
    metarl learner fit --runs runs.csv --space experiments/configs/protein_space.yaml \
        --target val_loss --out learner.mrl
    metarl propose --learner learner.mrl --space experiments/configs/protein_space.yaml --n 10
"""

from __future__ import annotations

import argparse

import pandas as pd

from metarl.benchmarks import load_task

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="runs.csv")
parser.add_argument("--n", type=int, default=200, help="runs per dataset")
parser.add_argument("--datasets", default="protein_structure", help="comma-separated")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

frames = []
for dataset in args.datasets.split(","):
    task = load_task(f"hpolib/{dataset}", seed=args.seed)
    M = task.space.sample_matrix(args.n, seed=args.seed)  # random configs of the space
    df = pd.DataFrame(task.space.to_configs(M))
    df["dataset"] = dataset  # the context column: one learner across datasets
    for metric in task.metrics:  # one recorded seed per run: noisy, like real training
        df[metric] = task.sample_observations(M, metric=metric)
    frames.append(df)
pd.concat(frames).to_csv(args.out, index=False)
print(f"wrote {sum(len(f) for f in frames)} runs to {args.out}")
