"""``metarl propose --transfer``: proposals for a dataset from past runs of other datasets.

No saved learner is needed: a learner (``--learner``: a name, or a saved file whose settings
are reused) is fitted on the past runs (benchmark tasks, CSV files, studies of
``--storage``), and the configs it predicts best for the space's context (the new dataset,
``--context dataset=...``) are a zero-shot portfolio, best first
(:func:`metarl.loop._transfer.zero_shot`); how such portfolios score on each transfer dataset
held out in turn is printed too. With ``--runs`` as well, the runs of the new dataset join the
fit (a warm-started refit).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from metarl.cli._common import check_storage_url
from metarl.cli._focus import read_focus
from metarl.cli._main import CliError
from metarl.cli._proposals import learner_direction, print_proposals, refit_on_runs
from metarl.loop._transfer import TRANSFER_SIZE


def add_transfer_args(p: Any) -> None:
    """The options of the transfer path."""
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


def _learner(args: argparse.Namespace, space: Any) -> tuple[Any, str | None, Any]:
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


def propose_transfer(args: argparse.Namespace, space: Any) -> int:
    """Zero-shot portfolio (or, with ``--runs``, a warm-started refit) from ``--transfer``."""
    from metarl.loop import context_label, load_transfer
    from metarl.loop._transfer import zero_shot
    from metarl.metadata import RunDataError

    if args.transfer_size < 1:
        raise CliError(f"--transfer-size must be >= 1, got {args.transfer_size}")
    if args.storage is not None:
        check_storage_url(args.storage)
    learner, recorded_target, recorded = _learner(args, space)
    sources = [s.strip() for text in args.transfer for s in text.split(",") if s.strip()]
    where = None
    if not (args.target or recorded_target):  # benchmark tasks tell their metric
        recorded_target, recorded = _task_metric(sources)
        where = "the benchmark tasks'"
    target = args.target or recorded_target or "value"
    direction, why = learner_direction(args, target, recorded, where)
    focus = read_focus(args.focus, space) if args.focus is not None else None
    try:
        data = load_transfer(
            _named_sources(sources, space, args.storage), space, metric=target,
            storage=args.storage,
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
        configs, learner = refit_on_runs(
            args, space, learner, _policy(args, space), target, direction, focus, data
        )
        if not configs:
            return 0  # every config was run: refit_on_runs said so
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
    print_proposals(args, space, learner, configs, [f"score({target})"])
    return 0


def _named_sources(sources: list[str], space: Any, storage: str | None) -> list[Any]:
    """``DATASET=SOURCE`` items as ``{dataset: source}`` (the value parsed as the space's
    one context feature holds it); a plain study or a CSV that records no dataset named by
    its name (:func:`_study_named_by_name`, :func:`_csv_named_by_stem`); other items as they
    are."""
    from metarl.metadata._cells import parse_value

    out: list[Any] = []
    for text in sources:
        value, eq, source = text.partition("=")
        if not eq or len(space.context) != 1:
            named = _study_named_by_name(text, space, storage)
            out.append(_csv_named_by_stem(text, space) if named is None else named)
            continue
        param = next(iter(space.context.values()))
        out.append({parse_value(param, value.strip()): source.strip()})
    return out


def _study_named_by_name(text: str, space: Any, storage: str | None) -> Any:
    """A study of ``--storage`` whose trials record no value of the space's one context
    feature (a plain Optuna study): its runs are named by the study's name, as a CSV's by
    its stem and as ``MetaRLSampler(transfer=...)`` names a study, not taken as the
    ``--context`` dataset's own. A name that is not a value of the feature is refused by
    name. None: no such study (a study that records its dataset keeps it)."""
    from collections.abc import Mapping

    import optuna
    from optuna.trial import TrialState

    from metarl.metadata._cells import parse_value
    from metarl.study._schema import CONTEXT

    if storage is None or len(space.context) != 1:
        return None
    try:
        study = optuna.load_study(study_name=text, storage=storage)
    except KeyError:
        return None
    ((name, param),) = space.context.items()
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    recorded = (t.user_attrs.get(CONTEXT) for t in trials)
    if any(isinstance(ctx, Mapping) and name in ctx for ctx in recorded):
        return text
    try:
        value = parse_value(param, text)
        param.from_value(value)
    except ValueError:
        raise CliError(
            f"--transfer {text}: study {text!r} records no {name!r}, so its dataset is "
            f"unknown: name it with DATASET={text}"
        ) from None
    return {value: text}


def _csv_named_by_stem(text: str, space: Any) -> Any:
    """A CSV without a column of the space's context: its runs are named by the file's stem
    (as ``MetaRLSampler(transfer=...)`` names them), not taken as the ``--context``
    dataset's own. A stem that is not a value of the context feature is refused by name."""
    import csv
    from pathlib import Path

    from metarl.metadata._cells import parse_value

    path = Path(text)
    if path.suffix.lower() != ".csv" or not path.is_file() or not space.context:
        return text
    try:
        with path.open(newline="") as f:
            header = [c.strip() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return text  # the reader names the problem
    missing = [name for name in space.context if name not in header]
    if not missing:
        return text
    if len(space.context) == 1:
        param = next(iter(space.context.values()))
        try:
            value = parse_value(param, path.stem)
            param.from_value(value)
        except ValueError:
            pass
        else:
            return {value: text}
    name = missing[0]
    raise CliError(
        f"--transfer {text}: the CSV has no {name!r} column, so its dataset is unknown: "
        f"add the column, or name it with DATASET={text}"
    )


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
