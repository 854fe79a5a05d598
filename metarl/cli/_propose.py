"""``metarl propose``: the best configs by a saved meta-learner, without training anything."""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from metarl.cli._common import load_space


def add_parser(sub: Any) -> None:
    p = sub.add_parser("propose", help="propose configs with a saved meta-learner")
    p.add_argument("--learner", required=True, help="file written by `metarl learner fit`")
    p.add_argument("--space", required=True, help="space YAML")
    p.add_argument("--n", type=int, default=10, help="how many configs")
    p.add_argument("--policy", default="surrogate_sampling", help="make_policy name")
    p.add_argument("--direction", default="minimize", choices=["minimize", "maximize"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(func=propose)


def propose(args: argparse.Namespace) -> int:
    from metarl.agents import make_policy
    from metarl.learners import load_learner

    space = load_space(args.space)
    learner = load_learner(args.learner, space=space)
    policy = make_policy(args.policy)
    policy.reseed(args.seed)
    configs = policy.propose(space, learner, args.n, direction=args.direction)
    mean, std = learner.predict(space.encode(configs), return_std=True)
    mean, std = (
        np.asarray(mean).reshape(len(configs), -1)[:, 0],
        np.asarray(std).reshape(len(configs), -1)[:, 0],
    )
    for i, (cfg, m, s) in enumerate(zip(configs, mean, std)):
        if args.json:
            print(json.dumps({"config": cfg, "predicted": float(m), "std": float(s)}, default=str))
        else:
            items = ", ".join(f"{k}={v}" for k, v in cfg.items())
            print(f"{i + 1:3d}. predicted {m:.5g} ± {s:.2g}: {items}")
    return 0
