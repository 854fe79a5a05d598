"""Helpers shared by the commands: YAML files, spaces, storages, and the options several
commands take."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from metarl.cli._main import CliError
from metarl.space import SearchSpace
from metarl.study._direction import infer_direction


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; a key given twice in one mapping is refused by name (YAML
    would keep the last one silently)."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise CliError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return yaml.load(text, Loader=_unique_keys_loader())  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as e:
        raise CliError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None


def _unique_keys_loader() -> Any:
    """A ``yaml.SafeLoader`` that refuses a key given twice in one mapping."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    twice = key in seen
                except TypeError:  # an unhashable key: the base class names it
                    break
                if twice:
                    line = key_node.start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} given twice (line {line})", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


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


def check_storage_url(url: Any, must_exist: bool = True) -> None:
    """Refuse what is not an RDB URL, and (``must_exist``: status, best, worker, which only
    read) a SQLite URL whose file does not exist or a database that is not an Optuna storage,
    leaving it unchanged (Optuna would write its tables into it)."""
    from metarl.study._storage import StorageError, check_optuna_storage, check_sqlite_file

    if not isinstance(url, str) or "://" not in url:
        raise CliError(f"storage {url!r}: expected an RDB URL such as sqlite:///metarl.db")
    try:
        check_sqlite_file(url)
        if must_exist:  # a missing SQLite file included
            check_optuna_storage(url)
    except StorageError as e:
        raise CliError(str(e)) from None


@contextmanager
def sqlite_folder(url: str) -> Iterator[Path | None]:
    """Create the missing folder of a SQLite URL's file for the block; yield it (None: it
    existed). When the block fails, the folders created are
    removed again where they are still empty, so a refused run leaves nothing behind."""
    from metarl.study._storage import sqlite_path

    path = sqlite_path(url)
    missing = []
    parent = path.parent if path is not None else None
    while parent is not None and not parent.exists():
        missing.append(parent)
        parent = parent.parent if parent.parent != parent else None
    if not missing:
        yield None
        return
    missing[0].mkdir(parents=True, exist_ok=True)
    try:
        yield missing[0]
    except BaseException:
        for folder in missing:  # deepest first; another process may be using one
            with suppress(OSError):
                folder.rmdir()
        raise


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


def comma_list(text: str) -> list[str]:
    """An argparse type: comma-separated names (blanks dropped)."""
    return [s.strip() for s in text.split(",") if s.strip()]


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """An argparse type: a number > 0 (seconds; ``inf``: no limit)."""
    v = _number(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def non_negative_float(text: str) -> float:
    """An argparse type: a number >= 0 (seconds; ``inf``: no limit)."""
    v = _number(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return v


def _number(text: str) -> float:
    """A number of seconds: ``inf`` means no limit, NaN is refused."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if math.isnan(v):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    return v


def add_fit_args(p: Any) -> None:
    """``--ignore`` and ``--cv`` of a command that fits a learner on ``--runs`` (``metarl
    learner fit``, ``metarl propose --runs``)."""
    p.add_argument(
        "--ignore", type=comma_list, default=[], help="other columns of --runs, comma-separated"
    )
    p.add_argument(
        "--cv", type=int, default=5, help="folds of the cross-validated quality (default 5)"
    )


def directions_for(targets: list[str], given: list[str] | None, flag: str) -> list[tuple[str, str]]:
    """Per target, its direction and why: ``given`` (one for all or one each, from ``flag``),
    else read from the target's name.

    Raises:
        CliError: a count that does not match, or a name that does not tell the direction.
    """
    if given:
        if len(given) not in (1, len(targets)):
            raise CliError(f"{flag}: {len(given)} directions for {len(targets)} targets")
        return [(d, flag) for d in (given * len(targets) if len(given) == 1 else given)]
    out = []
    for t in targets:
        found = infer_direction(t)
        if found is None:
            raise CliError(
                f"cannot tell from its name whether {t!r} is minimized or maximized: "
                f"pass {flag} minimize or {flag} maximize"
            )
        out.append(found)
    return out
