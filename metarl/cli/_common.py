"""Helpers shared by the commands: YAML files, spaces, storages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metarl.cli._main import CliError
from metarl.space import SearchSpace


def read_yaml(path: str | Path) -> Any:
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CliError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None


def load_space(spec: Any, base: Path | None = None) -> SearchSpace:
    """A space from an inline dict or a YAML path (relative to ``base``)."""
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if base is not None and not path.is_absolute() and not path.exists():
            path = base / path
        return SearchSpace.from_yaml(path)
    return SearchSpace.from_dict(spec)


def add_storage_args(p: Any, required: bool = True) -> None:
    p.add_argument("--storage", required=required, help="Optuna storage URL (sqlite:///...)")
    p.add_argument("--study", required=required, help="study name")


def check_storage_url(url: str, create_dir: bool = False) -> None:
    """Refuse a SQLite URL whose file does not exist (status, best, worker: read only)."""
    from metarl.study._storage import sqlite_path

    if not isinstance(url, str) or "://" not in url:
        raise CliError(f"storage {url!r}: expected an RDB URL such as sqlite:///metarl.db")
    path = sqlite_path(url)
    if path is None:
        return
    if create_dir:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise CliError(f"storage {url!r}: no database file {str(path)!r}")


def add_import_arg(p: Any, where: str = "") -> None:
    """The repeatable ``--import MODULE`` option (into ``args.plugins``)."""
    p.add_argument(
        "--import",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help=f"import MODULE first{where}, from the working directory too, so that the "
        "trainers, policies, learners and environments it registers are known; repeatable "
        "(e.g. --import envs)",
    )
