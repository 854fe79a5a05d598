"""``metarl run CONFIG.yaml``: a refinement loop from a YAML config, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from metarl._defaults import DEFAULT_LEARNER
from metarl._plugins import export_plugins, import_plugins
from metarl.cli._common import add_import_arg, check_storage_url, load_space, read_yaml
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
    "transfer": [],
    "heartbeat_interval": 5,
    "grace_period": None,
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run (or resume) a refinement loop from a YAML config",
        description="Run (or resume) a refinement loop from a YAML config. The config's "
        "folder and the working directory are on the import path, so that "
        "'trainer: my_trainer:train' finds my_trainer.py next to the config.",
    )
    p.add_argument("config", help="YAML file (keys: " + ", ".join(KEYS) + ")")
    p.add_argument("--budget", type=int, default=None, help="override the config's budget")
    add_import_arg(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_config(path: str) -> dict[str, Any]:
    """Read and check a run config: known keys, types, a trainer or a task."""
    cfg = read_yaml(path)
    if not isinstance(cfg, dict):
        raise CliError(f"{path}: expected a mapping of settings, got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - set(KEYS))
    if unknown:
        raise CliError(f"{path}: unknown key(s) {unknown}; valid: {sorted(KEYS)}")
    out = {**KEYS, **cfg}
    if (out["task"] is None) == (out["trainer"] is None):
        raise CliError(f"{path}: give exactly one of 'task' or 'trainer'")
    for key in ("budget", "batch_size", "n_init", "seed", "n_workers", "heartbeat_interval"):
        if not isinstance(out[key], int) or isinstance(out[key], bool):
            raise CliError(f"{path}: {key} must be an integer, got {out[key]!r}")
    for key in ("trainer_kwargs", "learner_kwargs", "policy_kwargs"):
        if not isinstance(out[key] or {}, dict):
            raise CliError(f"{path}: {key} must be a mapping, got {out[key]!r}")
    if isinstance(out["transfer"], str):
        out["transfer"] = [out["transfer"]]
    out["study_name"] = out["study_name"] or Path(path).stem
    return out


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
    except (ValueError, KeyError, ImportError, TypeError) as e:
        what = "task" if cfg["task"] is not None else "trainer"
        raise CliError(f"{what} {spec.name!r}: {str(e).strip().splitlines()[0]}") from None
    return spec


def run(args: argparse.Namespace) -> int:
    import optuna

    from metarl.study import Study

    # like `python script.py`: modules next to the config (a trainer) and in the working
    # directory (a repository's own plug-ins) import without installing them or PYTHONPATH
    import_plugins(args.plugins, [Path(args.config).parent, Path.cwd()])
    export_plugins(args.plugins)  # the worker processes of the run import them too
    cfg = parse_config(args.config)
    if args.budget is not None:
        cfg["budget"] = args.budget
    spec = _trainer_spec(cfg)
    space = load_space(cfg["space"], Path(args.config).parent) if cfg["space"] else None
    check_storage_url(cfg["storage"], create_dir=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = Study(
        space,
        spec,
        metric=cfg["metric"],
        direction=cfg["direction"],
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
        transfer=list(cfg["transfer"] or []),
        heartbeat_interval=cfg["heartbeat_interval"],
        grace_period=cfg["grace_period"],
    )
    print(
        f"study {study.study_name!r} in {cfg['storage']}: {study.metric} "
        f"({study.direction}), policy {cfg['policy']}, learner {cfg['learner']}, "
        f"budget {cfg['budget']}",
        file=sys.stderr,
    )
    study.optimize(cfg["budget"], progress=not args.no_progress)
    print_summary(study, cfg)
    return 0


def print_summary(study: Any, cfg: dict[str, Any]) -> None:
    s = study.summary()
    print(f"\nstudy {s['study']}: {s['done']} evaluations ({s['failed']} failed)")
    print("round  origin              n_train  cv_spearman")
    for r in s["rounds"]:
        rho = "-" if r.get("cv_spearman") is None else f"{r['cv_spearman']:.3f}"
        print(f"{r['round']:5d}  {r['origin']:<18}  {r['n_train']:7d}  {rho:>11}")
    if "best_value" in s:
        print(f"best {study.metric} = {s['best_value']:.6g}")
        for k, v in s["best_config"].items():
            print(f"  {k}: {v}")
    print(f"results: {cfg['storage']} (study {study.study_name!r})")
    if study.artifacts is not None:
        print(f"checkpoints: {study.artifacts}")
    where = f"--storage {cfg['storage']} --study {study.study_name}"
    print(f"inspect: metarl status {where}; metarl best {where}; optuna-dashboard {cfg['storage']}")
