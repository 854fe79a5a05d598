"""``metarl propose``: the best configs by a saved meta-learner, without training anything.

With ``--focus`` the proposals keep to a subspace (``SearchSpace.restrict``'s keywords, as
JSON or a YAML file); with ``--runs`` a clone of the saved learner is refitted on every run
given (inside and outside the focus) by :func:`metarl.loop.refine`, the round every search
runs, so the proposals avoid what was run and the learner's cross-validated quality on the
focus region is printed.

With ``--transfer`` (past runs of other datasets: benchmark tasks, CSV files, studies of
``--storage``) no saved learner is needed: a learner (``--learner``: a name, or a saved
file whose settings are reused) is fitted on them, and the configs it predicts best for the
space's context (the new dataset, ``--context dataset=...``) are a zero-shot portfolio, best
first (:func:`metarl.loop._transfer.zero_shot`); how such portfolios score on each transfer
dataset held out in turn is printed too. With ``--runs`` as well, the runs of the new
dataset join the fit (a warm-started refit).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from metarl.cli._common import check_storage_url, directions_for, load_space, read_yaml
from metarl.cli._main import CliError
from metarl.loop._transfer import TRANSFER_SIZE


def _assignment(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


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
    p.add_argument(
        "--transfer",
        action="append",
        default=[],
        metavar="SOURCES",
        help="past runs of other datasets, comma-separated or repeated: benchmark task names "
        "(hpolib/naval_propulsion), CSV files (their context column names the dataset), or "
        "studies of --storage; DATASET=SOURCE names the dataset of a study or CSV that does "
        "not record it. Without --runs: a zero-shot portfolio for the --context dataset",
    )
    p.add_argument("--storage", default=None, help="Optuna storage of --transfer studies")
    p.add_argument(
        "--transfer-size",
        type=int,
        default=TRANSFER_SIZE,
        help=f"random noisy evaluations drawn from each benchmark task (default {TRANSFER_SIZE})",
    )
    p.add_argument(
        "--target",
        default=None,
        help="with --transfer: the metric of the sources (default: the saved learner's, or "
        "'value'); benchmark tasks give their own",
    )
    p.add_argument(
        "--no-holdout",
        action="store_true",
        help="with --transfer: skip the held-out check (one refit per transfer dataset)",
    )
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


def _direction(
    args: argparse.Namespace, target: str, recorded: Any, where: str | None = None
) -> tuple[str, str]:
    """The direction of the learner's first target, and where it comes from."""
    if args.direction:
        return args.direction, "--direction"
    if recorded and recorded[0]:
        return recorded[0], where or f"recorded in {args.learner} by `metarl learner fit`"
    return directions_for([target], None, "--direction")[0]


def propose(args: argparse.Namespace) -> int:
    from metarl.agents import make_policy
    from metarl.learners import load_learner, read_metadata

    if args.n < 1:
        raise CliError(f"--n must be >= 1, got {args.n}")
    space = _with_context(load_space(args.space), args.context)
    if args.transfer:
        return _with_transfer(args, space)
    if args.learner is None:
        raise CliError(
            "--learner is required (a file of `metarl learner fit`), or --transfer for "
            "zero-shot proposals from past runs of other datasets"
        )
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
    _print(args, space, learner, configs, names)
    return 0


def _print(
    args: argparse.Namespace, space: Any, learner: Any, configs: list[Any], names: list[str]
) -> None:
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


def _refit(
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
    return step.configs, step.learner


def _transfer_learner(args: argparse.Namespace, space: Any) -> tuple[Any, str | None, Any]:
    """The learner to fit on transfer data, its recorded target and directions (a file)."""
    from pathlib import Path

    from metarl.learners import available_learners, load_learner, make_learner, read_metadata

    name = args.learner or "gp"
    if Path(name).is_file():
        meta = read_metadata(name)
        targets = meta.get("target_names") or [None]
        return load_learner(name, space=space), targets[0], meta.get("directions")
    if name not in available_learners():
        raise CliError(
            f"--learner {name!r}: neither a learner file nor a learner name "
            f"({', '.join(available_learners())})"
        )
    return make_learner(name), None, None


def _with_transfer(args: argparse.Namespace, space: Any) -> int:
    """Zero-shot portfolio (or, with ``--runs``, a warm-started refit) from ``--transfer``."""
    from metarl.loop import context_label, load_transfer
    from metarl.loop._transfer import zero_shot
    from metarl.metadata import RunDataError

    if args.transfer_size < 1:
        raise CliError(f"--transfer-size must be >= 1, got {args.transfer_size}")
    if args.storage is not None:
        check_storage_url(args.storage)
    learner, recorded_target, recorded = _transfer_learner(args, space)
    sources = [s.strip() for text in args.transfer for s in text.split(",") if s.strip()]
    where = None
    if not (args.target or recorded_target):  # benchmark tasks tell their metric
        recorded_target, recorded = _task_metric(sources)
        where = "the benchmark tasks'"
    target = args.target or recorded_target or "value"
    direction, why = _direction(args, target, recorded, where)
    focus = read_focus(args.focus, space) if args.focus is not None else None
    try:
        data = load_transfer(
            _named_sources(sources, space), space, metric=target, storage=args.storage,
            rng=np.random.default_rng(args.seed), n_per_task=args.transfer_size,
        )  # fmt: skip
    except (ValueError, RunDataError) as e:
        raise CliError(f"--{e}" if str(e).startswith("transfer:") else str(e)) from None
    own = context_label(space.context_values)
    if data is None or own in set(data.groups.tolist()):
        raise CliError(
            f"--transfer: runs of {own or 'the space'} itself are not transfer data: pass them "
            "with --runs, and other datasets' (another --context value) with --transfer"
        )
    n_sets = len(set(data.groups.tolist()))
    if args.runs is not None:
        configs, learner = _refit(
            args, space, learner, _policy(args, space), target, direction, focus, data
        )
        what = f"refitted with {len(data)} runs of {n_sets} other dataset(s)"
    else:
        try:
            step = zero_shot(
                space, data, args.n, learner=learner, policy=_policy(args, space),
                direction=direction, metric=target, seed=args.seed, focus=focus,
            )  # fmt: skip
        except ValueError as e:
            raise CliError(f"--transfer: {e}") from None
        configs, learner = step.configs, step.learner
        what = f"zero-shot for {own}: no run of it, {len(data)} runs of {n_sets} other dataset(s)"
    print(f"{what}; {direction} {target} ({why})", file=sys.stderr)
    if not args.no_holdout and args.runs is None:
        _print_holdout(args, space, data, learner, direction, target)
    print(
        f"predicted normal score of the rank within a dataset of {target} (lower ranks first "
        "when minimizing), mean ± std:",
        file=sys.stderr,
    )
    _print(args, space, learner, configs, [f"score({target})"])
    return 0


def _named_sources(sources: list[str], space: Any) -> list[Any]:
    """``DATASET=SOURCE`` items as ``{dataset: source}`` (the value parsed as the space's
    one context feature holds it); other items as they are."""
    from metarl.metadata._cells import parse_value

    out: list[Any] = []
    for text in sources:
        value, eq, source = text.partition("=")
        if not eq or len(space.context) != 1:
            out.append(text)
            continue
        param = next(iter(space.context.values()))
        out.append({parse_value(param, value.strip()): source.strip()})
    return out


def _task_metric(sources: list[str]) -> tuple[str | None, list[str] | None]:
    """The metric and direction the benchmark tasks among ``sources`` share (else None)."""
    from metarl.benchmarks import list_tasks, load_task, split_task_name

    tasks = [load_task(s) for s in sources if split_task_name(s)[0] in list_tasks()]
    found = {(t.metric, t.direction) for t in tasks}
    if len(found) != 1:
        return None, None
    metric, direction = found.pop()
    return metric, [direction]


def _policy(args: argparse.Namespace, space: Any) -> Any:
    """The policy by name, with the transfer defaults (the predicted mean ranks)."""
    from metarl.loop import make_search_policy

    try:
        return make_search_policy(args.policy, space, None, transfer=True, seed=args.seed)
    except ValueError as e:
        raise CliError(f"--policy: {e}") from None


def _print_holdout(
    args: argparse.Namespace, space: Any, data: Any, learner: Any, direction: str, target: str
) -> None:
    """The held-out check of :func:`metarl.loop._transfer.holdout_scores`, on stderr."""
    from sklearn.base import clone

    from metarl.loop._transfer import holdout_scores

    rows = holdout_scores(
        space, data, clone(learner), direction=direction, metric=target, seed=args.seed
    )
    if not rows:
        return
    ks = [k for k in (1, 5, 10) if all(f"top{k}" in r for r in rows)]
    tops = "/".join(f"{np.mean([r[f'top{k}'] for r in rows]):.1%}" for k in ks)
    rand = "/".join(f"{np.mean([r[f'random{k}'] for r in rows]):.1%}" for k in ks)
    names = "/".join(str(k) for k in ks)
    print(
        f"held out, one dataset at a time ({len(rows)}): the learner fitted on the others "
        f"ranks its observed configs; best of its top-{names} beaten by {tops} of them "
        f"(random picks: {rand})",
        file=sys.stderr,
    )
    for r in rows:
        per = ", ".join(f"top-{k} {r[f'top{k}']:.1%}" for k in ks)
        print(f"  {r['dataset']} ({r['n']} configs): {per}", file=sys.stderr)
