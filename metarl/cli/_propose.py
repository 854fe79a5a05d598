"""``metarl propose``: the best configs by a saved meta-learner, without training anything.

With ``--focus`` the proposals keep to a subspace (``SearchSpace.restrict``'s keywords, as
JSON or a YAML file); with ``--runs`` a clone of the saved learner is refitted on every run
given (inside and outside the focus) by :func:`metarl.loop.refine`, the round every search
runs, so the proposals avoid what was run and the learner's cross-validated quality on the
focus region is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from metarl.cli._common import directions_for, load_space, read_yaml
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
    p.add_argument(
        "--focus",
        default=None,
        metavar="JSON_OR_YAML",
        help="propose only inside a subspace: a JSON object or a YAML file with fixed, "
        'ranges, choices and items, e.g. \'{"fixed": {"lr_schedule": "const"}}\'',
    )
    p.add_argument(
        "--runs",
        default=None,
        help="CSV of past runs (e.g. new ones in the focus): a clone of the learner is "
        "refitted on all of them, configs already run are not proposed again, and the "
        "learner's cross-validated quality (in the focus too) is printed",
    )
    p.add_argument(
        "--ignore", type=_names, default=[], help="other columns of --runs, comma-separated"
    )
    p.add_argument("--cv", type=int, default=5, help="folds of the quality check (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object per line")
    p.set_defaults(func=propose)


def _names(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def read_focus(text: str, space: Any) -> Any:
    """The subspace of ``--focus`` (a JSON object, or the path of a YAML file).

    Raises:
        CliError: one line: invalid JSON/YAML, a missing file, or a focus that
            :func:`metarl.study._settings.check_focus` refuses (unknown parameter, value
            outside the space, empty).
    """
    from metarl.study._settings import check_focus

    if text.lstrip().startswith("{"):
        try:
            focus = json.loads(text)
        except json.JSONDecodeError as e:
            raise CliError(f"--focus: invalid JSON: {e}") from None
    else:
        try:
            focus = read_yaml(text)
        except CliError as e:
            raise CliError(f"--focus {e}") from None
    try:
        return check_focus(space, focus)
    except ValueError as e:  # "focus: ..."
        raise CliError(f"--{e}") from None


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
    focus = read_focus(args.focus, space) if args.focus is not None else None
    policy = make_policy(args.policy)
    if args.runs is not None:
        configs, learner = _refit(args, space, learner, policy, names[0], direction, focus)
        names = names[:1]  # refitted on the first target: the one proposals are ranked by
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


def _refit(
    args: argparse.Namespace,
    space: Any,
    learner: Any,
    policy: Any,
    target: str,
    direction: str,
    focus: Any,
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
    return step.configs, step.learner
