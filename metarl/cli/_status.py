"""``metarl status`` and ``metarl best``: read a stored study."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from metarl.cli._common import add_storage_args, check_storage_url, positive_int
from metarl.study import _schema as schema
from metarl.study._lease import KEY as LEASE


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="counts, rounds and learner quality of a stored study")
    add_storage_args(p)
    p.set_defaults(func=status)
    p = sub.add_parser("best", help="the best config and value of a stored study")
    add_storage_args(p)
    p.add_argument("--n", type=positive_int, default=1, help="how many of the best configs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=best)


def _load(args: argparse.Namespace) -> Any:
    import optuna

    from metarl.space import SearchSpace
    from metarl.study._storage import StorageError, open_storage

    check_storage_url(args.storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = open_storage(args.storage, create=False)  # writes nothing
    try:
        study = optuna.load_study(study_name=args.study, storage=st)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        raise StorageError(f"no study {args.study!r} (studies: {names})") from None
    if schema.SPACE not in study.user_attrs:
        raise StorageError(f"study {args.study!r} is not a metarl study")
    return study, SearchSpace.from_dict(study.user_attrs[schema.SPACE])


def status(args: argparse.Namespace) -> int:
    from optuna.trial import TrialState

    from metarl.study._storage import counts, failure_reasons

    study, space = _load(args)
    attrs = study.user_attrs
    trials = study.get_trials(deepcopy=False)
    c = counts(trials)
    budget = attrs.get(schema.BUDGET, "?")
    print(f"study {args.study} ({attrs.get(schema.METRIC)}, {study.direction.name.lower()})")
    print(
        f"  done {c['done']}/{budget}: {c['complete']} complete, {c['failed']} failed, "
        f"{c['pending']} pending"
    )
    reasons = failure_reasons(trials)
    if reasons:
        print("  failures by reason:")
        for reason, n in reasons:
            print(f"  {n:5d}  {reason}")
    n_lost = sum(t.state == TrialState.FAIL and schema.is_lost(t.user_attrs) for t in trials)
    if n_lost:
        print(f"  {n_lost} evaluation(s) lost to dead or interrupted processes, and re-queued")
    rounds = schema.round_records(attrs)
    if rounds:
        print("  round  origin              n_train  cv_spearman  proposed  seconds")
        for r in rounds:
            rho = "-" if r.get("cv_spearman") is None else f"{r['cv_spearman']:.3f}"
            print(
                f"  {r['round']:5d}  {r['origin']:<18}  {r['n_train']:7d}  {rho:>11}  "
                f"{r['n_proposed']:8d}  {r.get('seconds', 0):7.1f}"
            )
    if c["complete"]:
        from metarl.study._replicates import ranked_by_mean

        direction = study.direction.name.lower()
        try:  # Study's incumbent: the best mean (with a Fidelity, the best at full fidelity)
            _, value, n = ranked_by_mean(space, trials, direction)[0]  # type: ignore[arg-type]
            print(f"  best {attrs.get(schema.METRIC)} = {value:.6g}{_evals(n)}")
        except ValueError as e:
            print(f"  best: {e}")
    # the lease is a study system attribute, which Optuna's public API no longer shows
    owner = (study._storage.get_study_system_attrs(study._study_id).get(LEASE) or {}).get("owner")
    if owner:
        print(f"  proposing: {owner} (holds the proposer lease, or held it until it died)")
    return 0


def best(args: argparse.Namespace) -> int:
    """The best configs; says why when trials failed (exit code 1 when none completed)."""
    from metarl.space import config_from_optuna_params
    from metarl.study._replicates import ranked_by_mean
    from metarl.study._storage import counts, failure_reasons

    study, space = _load(args)
    trials = study.get_trials(deepcopy=False)
    try:  # configs by their mean value; only full-fidelity results rank
        done = ranked_by_mean(space, trials, study.direction.name.lower())  # type: ignore[arg-type]
    except ValueError:
        done = []
    reasons = failure_reasons(trials)
    if reasons:
        reason, n = reasons[0]
        where = f"--storage {args.storage} --study {args.study}"
        print(
            f"study {args.study}: {counts(trials)['failed']} trial(s) failed; most common "
            f"reason ({n}x): {reason} (all reasons: metarl status {where})",
            file=sys.stderr,
        )
    if not done:
        print(
            f"study {args.study}: no completed trial yet"
            + (" at full fidelity" if space.fidelity_names else "")
        )
        return 1 if reasons else 0
    rows = [
        {"trial": t.number, "value": mean, "config": config_from_optuna_params(space, t.params)}
        | ({"n_evals": n} if n > 1 else {})
        for t, mean, n in done[: max(1, args.n)]
    ]
    if args.json:
        print(json.dumps(rows if args.n > 1 else rows[0], default=str))
        return 0
    for r in rows:
        metric = study.user_attrs.get(schema.METRIC)
        print(f"trial {r['trial']}: {metric} = {r['value']:.6g}{_evals(r.get('n_evals', 1))}")
        for k, v in r["config"].items():
            print(f"  {k}: {v}")
    return 0


def _evals(n: int) -> str:
    """What follows a value that is the mean of ``n`` evaluations of one config."""
    return f" (mean of {n} evaluations)" if n > 1 else ""
