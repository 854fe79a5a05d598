"""What both paths of ``metarl propose`` (a saved learner, ``--transfer``) share: the
direction of the learner's target, the refit on ``--runs`` (the round every search runs) and
the printed proposals."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from metarl.cli._common import directions_for
from metarl.cli._main import CliError


def learner_direction(
    args: argparse.Namespace, target: str, recorded: Any, where: str | None = None
) -> tuple[str, str]:
    """The direction of the learner's first target, and where it comes from."""
    if args.direction:
        return args.direction, "--direction"
    if recorded and recorded[0]:
        return recorded[0], where or f"recorded in {args.learner} by `metarl learner fit`"
    return directions_for([target], None, "--direction")[0]


def print_proposals(
    args: argparse.Namespace, space: Any, learner: Any, configs: list[Any], names: list[str]
) -> None:
    """One line per config, best first, with the learner's predicted mean ± std of each
    target (``--json``: one JSON object per line)."""
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


def refit_on_runs(
    args: argparse.Namespace,
    space: Any,
    learner: Any,
    policy: Any,
    target: str,
    direction: str,
    focus: Any,
    transfer: Any = None,
) -> tuple[list[dict[str, Any]], Any]:
    """The round of :func:`metarl.loop.refine` on ``--runs``: a clone of ``learner``
    refitted on every run of the space's context, and the proposals (in the focus, none
    run before); prints the learner's quality on stderr."""
    from metarl.loop import History, refine
    from metarl.metadata import load_runs

    if args.cv < 2:
        raise CliError(f"--cv must be >= 2, got {args.cv}")
    data = load_runs(args.runs, space, target, direction=direction, ignore=args.ignore)
    values = space.context_values
    mine = [
        i
        for i, ctx in enumerate(data.context)
        if all(ctx.get(k, v) == v for k, v in values.items())
    ]
    if len(mine) < len(data):
        print(
            f"--runs: {len(data) - len(mine)} of {len(data)} runs are of another context "
            f"than {dict(values)}; left out",
            file=sys.stderr,
        )
    if not mine:
        raise CliError(f"--runs: no run of the context {dict(values)}")
    history = History(data.M[mine], np.asarray(data.y, np.float64).reshape(len(data), -1)[mine, 0])
    step = refine(
        space, history, args.n, learner=learner, policy=policy, direction=direction,
        metric=target, seed=args.seed, cv=args.cv, label=args.policy, focus=focus,
        transfer=transfer,
    )  # fmt: skip
    if step.learner is None:
        raise CliError(f"--runs: {len(mine)} run(s): too few to refit the learner")
    r = step.record
    rho = "-" if r["cv_spearman"] is None else f"{r['cv_spearman']:.3f}"
    line = f"refitted on {r['n_train']} runs of {args.runs}: {args.cv}-fold cv spearman {rho}"
    if focus is not None:
        rho_f = "-" if r["cv_spearman_focus"] is None else f"{r['cv_spearman_focus']:.3f}"
        line += (
            f"; focus {json.dumps(r['focus'], default=str)}: {r['n_train_in_focus']} runs, "
            f"cv spearman {rho_f} (on them)"
        )
    print(line, file=sys.stderr)
    if len(step.configs) < args.n:
        _say_fewer(args, space if focus is None else focus, history.M, len(step.configs))
    return step.configs, step.learner


def _say_fewer(args: argparse.Namespace, searched: Any, M: np.ndarray, n: int) -> None:
    """The line that says why the round on ``--runs`` proposes fewer than ``--n`` configs
    (refine leaves the policy's warning to its caller), as ``propose --n`` on a small space
    warns and returns fewer."""
    where = "the space"
    if searched.focus:
        where = f"the focus {json.dumps(searched.focus, default=str)}"
    if n:
        msg = f"asked for {args.n} configs but found only {n} of {where} not in --runs"
        msg += "; proposing those"
    elif len(set(searched.keys(M[searched.contains_matrix(M)]))) >= searched.cardinality:
        msg = f"every config of {where} is already in --runs: nothing to propose"
    else:
        msg = f"--policy {args.policy} found no config of {where} not in --runs: nothing to propose"
    print(f"--runs: {msg}", file=sys.stderr)
