"""``metarl worker``: evaluate the WAITING trials of a shared study."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from metarl._plugins import import_plugins
from metarl.cli._common import (
    add_storage_args,
    check_storage_url,
    non_negative_float,
    positive_float,
    positive_int,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("worker", help="evaluate the queued trials of a study (any machine)")
    add_storage_args(p)
    p.add_argument("--max-trials", type=positive_int, default=None, help="stop after N evaluations")
    p.add_argument(
        "--idle-timeout",
        type=non_negative_float,
        default=30.0,
        help="stop after S seconds with no work",
    )
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        help="seconds per trainer call (default: the study's, else an adaptive limit: an hour "
        "until a call succeeds, then 10 x the slowest successful call, at least a minute)",
    )
    p.add_argument(
        "--heartbeat-interval",
        type=positive_int,
        default=None,
        help="seconds between beats, for a study that stores none (a study's own win)",
    )
    p.set_defaults(func=worker)


def worker(args: argparse.Namespace) -> int:
    import optuna

    from metarl.study import run_worker

    check_storage_url(args.storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # like `metarl run`: a trainer module in the working directory imports (run the worker
    # in the run config's folder)
    import_plugins([], [Path.cwd()])
    n = run_worker(
        args.storage,
        args.study,
        max_trials=args.max_trials,
        idle_timeout=args.idle_timeout,
        timeout=args.timeout,
        heartbeat_interval=args.heartbeat_interval,
    )
    print(f"worker: evaluated {n} trial(s) of study {args.study}")
    return 0
