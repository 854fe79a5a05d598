"""Plug-in modules: imported by name so that the learners, policies, trainers and
environments they register exist, here and in the worker processes a run starts.

Plug-ins published as entry points need none of this (see :mod:`metarl._registry`); these
are for modules that are not installed: a repository's own ``envs/``, a trainer next to a
config.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

#: Comma-separated modules that ``import metarl`` imports, as pytest's ``PYTEST_PLUGINS``.
#: ``metarl run --import`` adds its modules (:func:`export_plugins`), so that the worker
#: processes the run starts (they import metarl to unpickle their task) know the same names.
PLUGINS_ENV = "METARL_PLUGINS"


def import_plugins(modules: Sequence[str], paths: Sequence[str | Path] = ()) -> None:
    """Import plug-in modules so that the names they register exist in this process.

    Args:
        modules: module names, imported in order (``"envs"``, ``"my_pkg.policies"``).
        paths: folders put first on ``sys.path`` beforehand (in this order; one already
            there stays where it is), as ``python script.py`` does with the script's folder:
            a repository's own plug-ins and a trainer module next to a config are not
            installed. Spawned worker processes inherit ``sys.path``.

    Raises:
        ImportError: a module cannot be imported (the message names it).
    """
    for folder in reversed([str(Path(p).resolve()) for p in paths]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    importlib.invalidate_caches()  # a module written since the last import attempt
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ImportError(f"plug-in module {name!r} cannot be imported: {e}") from e


def export_plugins(modules: Sequence[str]) -> None:
    """Add ``modules`` to :data:`PLUGINS_ENV` of this process, which the worker processes
    it starts inherit (with ``sys.path``, when spawned by multiprocessing)."""
    known = _env_plugins()
    if any(m not in known for m in modules):
        os.environ[PLUGINS_ENV] = ",".join(dict.fromkeys([*known, *modules]))


def _env_plugins() -> list[str]:
    return [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]


def import_env_plugins() -> None:
    """Import the modules named in :data:`PLUGINS_ENV` (``import metarl`` calls this).

    Raises:
        ImportError: one cannot be imported (the message names it and the variable).
    """
    for name in _env_plugins():
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ImportError(
                f"plug-in module {name!r} (from ${PLUGINS_ENV}) cannot be imported: {e}"
            ) from e
