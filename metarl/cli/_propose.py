"""``metarl propose``: the best configs by a saved meta-learner, without training anything.

With ``--focus`` the proposals keep to a subspace (``SearchSpace.restrict``'s keywords, as
JSON or a YAML file); with ``--runs`` a clone of the saved learner is refitted on every run
given (inside and outside the focus) by :func:`metarl.loop.refine`, the round every search
runs, so the proposals avoid what was run and the learner's cross-validated quality on the
focus region is printed.

With ``--transfer`` (past runs of other datasets) no saved learner is needed: a zero-shot
portfolio for the ``--context`` dataset (:mod:`metarl.cli._propose_transfer`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from metarl.cli._common import add_fit_args, load_space
from metarl.cli._focus import add_where_args, read_focus, with_context
from metarl.cli._main import CliError
from metarl.cli._proposals import learner_direction, print_proposals, refit_on_runs
from metarl.cli._propose_transfer import add_transfer_args, propose_transfer


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "propose",
        help="propose configs with a saved meta-learner, or zero-shot from past runs",
        description="Print the configs a saved meta-learner predicts best, with the "
        "predicted mean and std of each target; with --transfer, the configs a learner fitted "
        "on past runs of other datasets predicts best for the --context dataset (a zero-shot "
        "portfolio). No config is trained.",
    )
    p.add_argument(
        "--learner",
        default=None,
        help="file written by `metarl learner fit`; with --transfer, a learner name (gp, "
        "forest, ...) or such a file (its settings are refitted; default gp)",
    )
    p.add_argument(
        "--space",
        required=True,
        help="space YAML (the one the learner was fit on, or the past runs' space)",
    )
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
    add_where_args(p)
    p.add_argument(
        "--runs",
        default=None,
        help="CSV of past runs (e.g. new ones in the focus): a clone of the learner is "
        "refitted on all of them, configs already run are not proposed again, and the "
        "learner's cross-validated quality (in the focus too) is printed",
    )
    add_fit_args(p)
    add_transfer_args(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(func=propose)


def propose(args: argparse.Namespace) -> int:
    from metarl.agents import make_policy
    from metarl.learners import load_learner, read_metadata

    if args.n < 1:
        raise CliError(f"--n must be >= 1, got {args.n}")
    space = with_context(load_space(args.space), args.context)
    if args.transfer:
        return propose_transfer(args, space)
    if args.learner is None:
        raise CliError(
            "--learner is required (a file of `metarl learner fit`), or --transfer for "
            "zero-shot proposals from past runs of other datasets"
        )
    learner = load_learner(args.learner, space=space)
    names = list(getattr(learner, "target_names_", None) or ["target"])
    direction, why = learner_direction(args, names[0], read_metadata(args.learner)["directions"])
    focus = read_focus(args.focus, space) if args.focus is not None else None
    policy = make_policy(args.policy)
    if args.runs is not None:
        configs, learner = refit_on_runs(args, space, learner, policy, names[0], direction, focus)
        names = names[:1]  # refitted on the first target: the one proposals are ranked by
        if not configs:
            return 0  # every config was run: refit_on_runs said so
    else:
        policy.reseed(args.seed)
        configs = policy.propose(focus or space, learner, args.n, direction=direction)
        if focus is not None:
            print(
                f"focus: {json.dumps(focus.focus, default=str)} ({focus.cardinality} configs); "
                "pass --runs to refit on past runs and see the learner's quality there",
                file=sys.stderr,
            )
    print(f"{direction} {names[0]} ({why}); predicted mean ± std:", file=sys.stderr)
    print_proposals(args, space, learner, configs, names)
    return 0
