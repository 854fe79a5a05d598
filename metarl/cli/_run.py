"""``metarl run CONFIG.yaml``: a refinement loop from a YAML config, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from metarl._defaults import DEFAULT_LEARNER
from metarl._plugins import export_plugins, import_plugins
from metarl.cli._common import (
    add_import_arg,
    check_storage_url,
    load_space,
    positive_int,
    read_yaml,
    sqlite_folder,
)
from metarl.cli._main import CliError

#: Keys of a run config and their defaults (None: required or derived).
KEYS: dict[str, Any] = {
    "space": None,
    "task": None,
    "trainer": None,
    "trainer_kwargs": {},
    "metric": None,
    "direction": None,
    "learner": DEFAULT_LEARNER,
    "learner_kwargs": {},
    "policy": "auto",
    "policy_kwargs": None,
    "budget": 50,
    "batch_size": 10,
    "n_init": 10,
    "storage": "sqlite:///metarl.db",
    "study_name": None,
    "seed": 0,
    "executor": "process",
    "n_workers": 2,
    "timeout": None,
    "max_consecutive_failures": 5,
    "transfer": [],
    "heartbeat_interval": 5,
    "grace_period": None,
    "focus": None,
    "tensorboard": None,
    "replicates": None,
    "fidelity_start": None,
}
#: The key of a parsed config holding the keys its file gave (not defaults).
GIVEN = "_given"
#: Where every key, its default and meaning are documented (checked against KEYS by a test).
DOC = "docs/CONFIG.md"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run (or resume) a refinement loop from a YAML config",
        description="Run (or resume) a refinement loop from a YAML config. The config's "
        "folder and the working directory are on the import path, so that "
        "'trainer: my_trainer:train' finds my_trainer.py next to the config; relative "
        "paths in the config (space, transfer CSVs, tensorboard) are read from its folder. "
        f"Every key, its default and meaning: {DOC} in metarl's repository.",
    )
    p.add_argument("config", help=f"YAML file (keys: {', '.join(KEYS)}; documented in {DOC})")
    p.add_argument("--budget", type=positive_int, default=None, help="override the config's budget")
    p.add_argument(
        "--tensorboard",
        metavar="DIR",
        default=None,
        help="write TensorBoard logs under DIR (overrides the config's tensorboard key): "
        "per round the learner's quality and the search's progress, and the PPO agent's "
        "training; needs pip install 'metarl[tensorboard]'; watch with tensorboard --logdir DIR",
    )
    add_import_arg(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_config(path: str) -> dict[str, Any]:
    """Read and check a run config: known keys, each value's type and range, a trainer or a
    task. Every check that needs no import runs here, before anything is written.

    Raises:
        CliError: the message names the file, the key and what it expects.
    """
    cfg = read_yaml(path)
    if not isinstance(cfg, dict):
        raise CliError(f"{path}: expected a mapping of settings, got {type(cfg).__name__}")
    unknown = sorted(str(k) for k in set(cfg) - set(KEYS))
    if unknown:
        raise CliError(f"{path}: unknown key(s) {unknown}; valid: {sorted(KEYS)} (see {DOC})")
    out = {**KEYS, **cfg, GIVEN: frozenset(cfg)}
    if (out["task"] is None) == (out["trainer"] is None):
        raise CliError(f"{path}: give exactly one of 'task' or 'trainer'")
    if isinstance(out["transfer"], str):
        out["transfer"] = [out["transfer"]]
    if out["study_name"] is None:  # given empty, it is refused below, not replaced
        out["study_name"] = Path(path).stem
    check_values(path, out)
    resolve_paths(path, out)
    return out


def resolve_paths(path: str, cfg: dict[str, Any]) -> None:
    """Read the config's relative paths (``space``, ``transfer`` CSV files, ``tensorboard``)
    from its folder, whatever the working directory (``storage`` is a URL, read as SQLAlchemy
    reads it: a relative SQLite file is in the working directory, where ``metarl status``
    finds it with the same URL).

    Raises:
        CliError: a space or CSV file that does not exist (the message names it).
    """
    base = Path(path).parent
    if isinstance(cfg["space"], str):
        space = base / cfg["space"]
        if not space.is_file():
            raise CliError(
                f"{path}: space file {str(space)!r} not found (a relative path is read from "
                "the config's folder)"
            )
        cfg["space"] = str(space)
    transfer = []
    for source in cfg["transfer"] or []:
        local = base / source
        if Path(source).suffix.lower() == ".csv" and not local.is_file():
            raise CliError(
                f"{path}: transfer file {str(local)!r} not found (a relative path is read from "
                "the config's folder)"
            )
        transfer.append(str(local) if local.is_file() else source)
    cfg["transfer"] = transfer
    if cfg["tensorboard"] is not None:
        cfg["tensorboard"] = str(base / cfg["tensorboard"])


def _bad(path: str, key: str, expected: str, value: Any) -> CliError:
    return CliError(f"{path}: {key} must be {expected}, got {value!r}")


def check_values(path: str, cfg: dict[str, Any]) -> None:
    """Check the type and range of each setting of a run config (``path`` names it)."""
    from metarl.loop._fidelity import STARTS
    from metarl.loop._replicates import check_replicates
    from metarl.study._executors import EXECUTORS

    positive = ("budget", "batch_size", "n_workers", "heartbeat_interval")
    for key in ("n_init", "seed", *positive):
        v = cfg[key]
        if not isinstance(v, int) or isinstance(v, bool):
            raise _bad(path, key, "an integer", v)
        if v < (1 if key in positive else 0):
            raise _bad(path, key, "positive" if key in positive else "non-negative", v)
    for key in ("trainer_kwargs", "learner_kwargs", "policy_kwargs"):
        if not isinstance(cfg[key] or {}, dict):
            raise _bad(path, key, "a mapping", cfg[key])
    check_storage_url(cfg["storage"], must_exist=False)
    for key in ("learner", "policy", "study_name"):
        if not isinstance(cfg[key], str) or not cfg[key].strip():
            raise _bad(path, key, "a name", cfg[key])
    for key in ("metric", "task", "trainer"):
        if cfg[key] is not None and (not isinstance(cfg[key], str) or not cfg[key].strip()):
            raise _bad(path, key, "a name", cfg[key])
    if cfg["space"] is not None and not isinstance(cfg["space"], (str, dict)):
        raise _bad(path, "space", "a YAML file or a mapping of parameters", cfg["space"])
    if cfg["direction"] not in (None, "minimize", "maximize"):
        raise _bad(path, "direction", "minimize or maximize", cfg["direction"])
    if cfg["executor"] not in EXECUTORS:
        raise _bad(path, "executor", f"one of {list(EXECUTORS)}", cfg["executor"])
    t = cfg["timeout"]
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0):
        raise _bad(path, "timeout", "a positive number of seconds (or null)", t)
    g = cfg["grace_period"]
    if g is not None and (
        isinstance(g, bool) or not isinstance(g, int) or g <= cfg["heartbeat_interval"]
    ):
        raise _bad(path, "grace_period", "an integer above heartbeat_interval (or null)", g)
    k = cfg["max_consecutive_failures"]
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise _bad(path, "max_consecutive_failures", "a positive integer (or null)", k)
    if cfg["focus"] is not None and not isinstance(cfg["focus"], dict):
        raise _bad(path, "focus", "a mapping of fixed/ranges/choices/items", cfg["focus"])
    transfer = cfg["transfer"] or []
    if not isinstance(transfer, list) or not all(isinstance(x, str) and x for x in transfer):
        raise _bad(path, "transfer", "a list of study names, CSV files or tasks", transfer)
    tb = cfg["tensorboard"]
    if tb is not None and (not isinstance(tb, str) or not tb.strip()):
        raise _bad(path, "tensorboard", "a folder (or null)", tb)
    start = cfg["fidelity_start"]
    if start not in (None, *STARTS):
        raise _bad(path, "fidelity_start", f"one of {list(STARTS)} (or null)", start)
    try:  # the loop's own check: its messages name the key
        check_replicates(cfg["replicates"])
    except ValueError as e:
        raise CliError(f"{path}: {e} (see {DOC})") from None


def _trainer_spec(cfg: dict[str, Any]) -> Any:
    from metarl.study import TrainerSpec

    if cfg["task"] is not None:
        spec = TrainerSpec("task", str(cfg["task"]), {"seed": cfg["seed"]})
    else:
        name = str(cfg["trainer"])
        kind = "import" if ":" in name else "trainer"
        spec = TrainerSpec(kind, name, dict(cfg["trainer_kwargs"] or {}))
    try:
        spec.build()
    except Exception as e:  # noqa: BLE001 - whatever a trainer's import or constructor raises
        what = "task" if cfg["task"] is not None else "trainer"
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
        named = msg.startswith(f"{what} {spec.name!r}")  # TrainerSpec's own message names it
        raise CliError(msg if named else f"{what} {spec.name!r}: {msg}") from None
    return spec


def _metric_direction(path: str, cfg: dict[str, Any], trainer: Any) -> tuple[str, str, str]:
    """The metric, its direction and why: the config's ``direction``, else the trainer's,
    else read from the metric's name as ``metarl learner fit`` reads it; a name that does
    not say needs the key (no silent minimize).

    Raises:
        CliError: nothing tells the direction (the message says which key to add).
    """
    from metarl.study._direction import resolve_direction

    metric = cfg["metric"] or getattr(trainer, "metric", None) or "value"
    found = resolve_direction(cfg["direction"], trainer, metric)
    if found is None:
        raise CliError(
            f"{path}: cannot tell from its name whether metric {metric!r} is minimized or "
            f"maximized: add 'direction: minimize' or 'direction: maximize' (see {DOC})"
        )
    return metric, found[0], found[1] or "the direction key"


def run(args: argparse.Namespace) -> int:
    import optuna

    from metarl.study import Study, TooManyFailuresError

    # like `python script.py`: modules next to the config (a trainer) and in the working
    # directory (a repository's own plug-ins) import without installing them or PYTHONPATH
    import_plugins(args.plugins, [Path(args.config).parent, Path.cwd()])
    export_plugins(args.plugins)  # the worker processes of the run import them too
    cfg = parse_config(args.config)
    if args.budget is not None:
        cfg["budget"] = args.budget
        check_values("--budget", cfg)
    if args.tensorboard is not None:
        cfg["tensorboard"] = args.tensorboard
    spec = _trainer_spec(cfg)
    given = cfg.get(GIVEN, frozenset())
    metric, direction, why = _metric_direction(args.config, cfg, spec.build())
    space = load_space(cfg["space"]) if cfg["space"] else None
    check_storage_url(cfg["storage"], must_exist=False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Study checks every setting (learner, policy, transfer sources) before it writes; the
    # folder a new SQLite file needs is made for it, and removed again if Study refuses
    with sqlite_folder(cfg["storage"]) as made:
        study = Study(
            space,
            spec,
            metric=metric,
            direction=direction,
            learner=cfg["learner"],
            learner_kwargs=cfg["learner_kwargs"] or {},
            policy=cfg["policy"],
            policy_kwargs=cfg["policy_kwargs"],
            storage=cfg["storage"],
            study_name=cfg["study_name"],
            n_init=cfg["n_init"],
            batch_size=cfg["batch_size"],
            seed=cfg["seed"],
            executor=cfg["executor"],
            n_workers=cfg["n_workers"],
            timeout=cfg["timeout"],
            max_consecutive_failures=cfg["max_consecutive_failures"],
            transfer=list(cfg["transfer"] or []),
            # a resumed study keeps its own; given ones that differ are warned about
            heartbeat_interval=cfg["heartbeat_interval"] if "heartbeat_interval" in given else None,
            grace_period=cfg["grace_period"],
            focus=cfg["focus"],
            tensorboard=cfg["tensorboard"],
            replicates=cfg["replicates"],
            fidelity_start=cfg["fidelity_start"],
        )
    created = f" (folder {made}/ created)" if made is not None else ""
    print(
        f"study {study.study_name!r} in {cfg['storage']}{created}: {study.metric} "
        f"({study.direction}: {why}), policy {cfg['policy']}, learner {cfg['learner']}, "
        f"budget {cfg['budget']}" + (f", focus {cfg['focus']}" if cfg["focus"] else ""),
        file=sys.stderr,
    )
    try:
        study.optimize(cfg["budget"], progress=not args.no_progress)
    except TooManyFailuresError as e:
        print_summary(study, cfg)
        print(f"metarl run: {e}", file=sys.stderr)
        return 1
    print_summary(study, cfg)
    if study.summary()["complete"] == 0:
        where = f"--storage {cfg['storage']} --study {study.study_name}"
        print(f"metarl run: no trial completed (why: metarl status {where})", file=sys.stderr)
        return 1
    return 0


def print_summary(study: Any, cfg: dict[str, Any]) -> None:
    s = study.summary()
    print(f"\nstudy {s['study']}: {s['done']} evaluations ({s['failed']} failed)")
    focused = any("focus" in r for r in s["rounds"])  # the learner's quality there too
    print("round  origin              n_train  cv_spearman" + ("  in_focus  cv_focus" * focused))
    for r in s["rounds"]:
        rho = "-" if r.get("cv_spearman") is None else f"{r['cv_spearman']:.3f}"
        line = f"{r['round']:5d}  {r['origin']:<18}  {r['n_train']:7d}  {rho:>11}"
        if "focus" in r:
            rho_f = "-" if r["cv_spearman_focus"] is None else f"{r['cv_spearman_focus']:.3f}"
            line += f"  {r['n_train_in_focus']:8d}  {rho_f:>8}"
        print(line)
    if "best_value" in s:
        print(f"best {study.metric} = {s['best_value']:.6g}")
        for k, v in s["best_config"].items():
            print(f"  {k}: {v}")
    print(f"results: {cfg['storage']} (study {study.study_name!r})")
    if study.artifacts is not None:
        print(f"checkpoints: {study.artifacts}")
    where = f"--storage {cfg['storage']} --study {study.study_name}"
    print(f"inspect: metarl status {where}; metarl best {where}")
    print(f"web UI: optuna-dashboard {cfg['storage']} (pip install 'metarl[dashboard]')")
    if cfg["tensorboard"] is not None:
        print(f"TensorBoard: tensorboard --logdir {cfg['tensorboard']}")
