"""``metarl propose``: the best configs by a saved meta-learner, without training anything."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from metarl.cli._common import directions_for, load_space
from metarl.cli._main import CliError


def _assignment(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "propose",
        help="propose configs with a saved meta-learner",
        description="Print the configs a saved meta-learner predicts best, with the "
        "predicted mean and std of each target. Nothing is trained.",
    )
    p.add_argument("--learner", required=True, help="file written by `metarl learner fit`")
    p.add_argument("--space", required=True, help="space YAML (the one the learner was fit on)")
    p.add_argument("--n", type=int, default=10, help="how many configs (default 10)")
    p.add_argument(
        "--policy",
        default="exhaustive",
        help="make_policy name: exhaustive, surrogate_sampling, evolution, ppo, ... "
        "(default exhaustive)",
    )
    p.add_argument(
        "--direction",
        default=None,
        choices=["minimize", "maximize"],
        help="of the learner's first target (default: the direction recorded in the learner "
        "file by `metarl learner fit`, else read from the target's name as `learner fit` "
        "does)",
    )
    p.add_argument(
        "--context",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of a context feature of the space, e.g. dataset=protein_structure",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(func=propose)


def _with_context(space: Any, assignments: list[tuple[str, str]]) -> Any:
    from metarl.metadata._cells import parse_value

    values = {}
    for name, text in assignments:
        if name not in space.context:
            raise CliError(
                f"--context {name}: not a context feature of the space "
                f"(context: {list(space.context) or 'none'})"
            )
        values[name] = parse_value(space.context[name], text)
    if values:
        space = space.with_context(**values)
    unset = [n for n in space.context if n not in space.context_values]
    if unset:
        raise CliError(f"context feature(s) {unset} have no value: pass --context {unset[0]}=VALUE")
    return space


def _direction(args: argparse.Namespace, target: str, recorded: Any) -> tuple[str, str]:
    """The direction of the learner's first target, and where it comes from."""
    if args.direction:
        return args.direction, "--direction"
    if recorded and recorded[0]:
        return recorded[0], f"recorded in {args.learner} by `metarl learner fit`"
    return directions_for([target], None, "--direction")[0]


def propose(args: argparse.Namespace) -> int:
    from metarl.agents import make_policy
    from metarl.learners import load_learner, read_metadata

    if args.n < 1:
        raise CliError(f"--n must be >= 1, got {args.n}")
    space = _with_context(load_space(args.space), args.context)
    learner = load_learner(args.learner, space=space)
    names = list(getattr(learner, "target_names_", None) or ["target"])
    direction, why = _direction(args, names[0], read_metadata(args.learner)["directions"])
    print(f"{direction} {names[0]} ({why}); predicted mean ± std:", file=sys.stderr)
    policy = make_policy(args.policy)
    policy.reseed(args.seed)
    configs = policy.propose(space, learner, args.n, direction=direction)
    mean, std = learner.predict(space.encode(configs), return_std=True)
    mean = np.asarray(mean, dtype=np.float64).reshape(len(configs), -1)
    std = np.asarray(std, dtype=np.float64).reshape(len(configs), -1)
    for i, cfg in enumerate(configs):
        if args.json:
            pred = {
                t: {"mean": float(m), "std": float(s)} for t, m, s in zip(names, mean[i], std[i])
            }
            print(json.dumps({"rank": i + 1, "config": cfg, "predicted": pred}, default=list))
        else:
            pred = ", ".join(f"{t} {m:.5g} ± {s:.2g}" for t, m, s in zip(names, mean[i], std[i]))
            items = ", ".join(f"{k}={v}" for k, v in cfg.items())
            print(f"{i + 1:3d}. {pred}: {items}")
    return 0
