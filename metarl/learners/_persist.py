"""Saving and loading fitted learners without executing code from the file.

A learner file is a zip archive holding:

- ``metadata.json``: format, metarl version, learner class, space fingerprint, the targets'
  names and directions (what ``metarl propose`` optimises by default) and any extra
  JSON metadata of the caller;
- ``learner.skops``: the learner, written with skops (which rebuilds objects from an
  allow-list of types instead of unpickling);
- ``tensors.pt`` (torch learners only): every torch tensor of the learner, read back with
  ``torch.load(weights_only=True)``; in ``learner.skops`` each is a placeholder string.

Loading refuses a file from another metarl major version, from another search space (by
``SearchSpace.fingerprint()``), or holding a type outside the allow-list (the registered
learner classes, :class:`TargetTransform`, and the scikit-learn tree structure).
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from metarl.learners._base import MetaLearner

if TYPE_CHECKING:
    from metarl.space import SearchSpace
    from metarl.type_aliases import Direction

FORMAT = "metarl-learner"
FORMAT_VERSION = 1
_PLACEHOLDER = "__metarl_tensor__:"
# types skops does not trust by default that fitted built-in learners hold
_SKLEARN_TYPES = ("sklearn.tree._tree.Tree",)


class LearnerFileError(ValueError):
    """A learner file that cannot (or must not) be loaded here."""


def _strip(obj: Any, store: dict[str, torch.Tensor]) -> Any:
    """A copy of ``obj`` with every torch tensor replaced by a placeholder string."""
    if isinstance(obj, torch.Tensor):
        key = str(len(store))
        store[key] = obj.detach().cpu()
        return _PLACEHOLDER + key
    if isinstance(obj, dict):
        return {k: _strip(v, store) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_strip(v, store) for v in obj)
    if isinstance(obj, MetaLearner):
        new = copy.copy(obj)
        new.__dict__ = {k: _strip(v, store) for k, v in obj.__getstate__().items()}
        return new
    return obj


def _restore(obj: Any, store: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, str) and obj.startswith(_PLACEHOLDER):
        return store[obj[len(_PLACEHOLDER) :]]
    if isinstance(obj, dict):
        return {k: _restore(v, store) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_restore(v, store) for v in obj)
    if isinstance(obj, MetaLearner):
        obj.__dict__.update({k: _restore(v, store) for k, v in obj.__dict__.items()})
    return obj


def _version() -> str:
    from metarl._version import __version__

    return __version__


def _major(version: str) -> str:
    return version.split(".")[0]


def save_learner(
    learner: MetaLearner,
    path: str | Path,
    space: SearchSpace | None = None,
    *,
    directions: Direction | Sequence[Direction] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a fitted ``learner`` to ``path``, recording the space it was fitted on.

    Args:
        learner: a fitted meta-learner.
        path: file to write (a zip archive; ``.metarl`` is a fine suffix).
        space: the :class:`~metarl.SearchSpace` whose encoding the learner was fitted on;
            :func:`load_learner` then refuses any other space.
        directions: whether each target is minimised or maximised: one direction for all
            targets or one per target. Recorded (with the learner's ``target_names_``) in
            the file's metadata, where ``metarl propose`` reads its default direction.
        metadata: extra JSON-serialisable facts to record (e.g. the runs file, the CV
            quality); :func:`read_metadata` returns them under ``"extra"``.

    Returns:
        The path written.

    Raises:
        TypeError: ``learner`` is not a :class:`MetaLearner`.
        ValueError: a bad direction, as many directions as neither 1 nor the learner's
            targets, or ``metadata`` that JSON cannot hold.
    """
    if not isinstance(learner, MetaLearner):
        raise TypeError(f"save_learner needs a MetaLearner, got {type(learner).__name__}")
    import skops.io as sio

    n_targets = int(getattr(learner, "n_targets_", 1))
    names = getattr(learner, "target_names_", None)
    dirs = _check_directions(directions, n_targets)
    try:
        extra = json.loads(json.dumps(dict(metadata or {})))
    except (TypeError, ValueError) as e:
        raise ValueError(f"save_learner: metadata must be JSON-serialisable ({e})") from None
    tensors: dict[str, torch.Tensor] = {}
    body = sio.dumps(_strip(learner, tensors))
    cls = type(learner)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metarl_version": _version(),
        "learner": f"{cls.__module__}.{cls.__qualname__}",
        "space_fingerprint": None if space is None else space.fingerprint(),
        "tensors": bool(tensors),
        "target_names": None if names is None else [str(t) for t in names],
        "directions": dirs,
        "extra": extra,
    }
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(meta, indent=2))
        zf.writestr("learner.skops", body)
        if tensors:
            buf = io.BytesIO()
            torch.save(tensors, buf)
            zf.writestr("tensors.pt", buf.getvalue())
    return path


def _check_directions(
    directions: Direction | Sequence[Direction] | None, n_targets: int
) -> list[str] | None:
    """``directions`` as one per target (None stays None: not recorded)."""
    if directions is None:
        return None
    dirs = [directions] * n_targets if isinstance(directions, str) else list(directions)
    if len(dirs) == 1 and n_targets > 1:
        dirs = dirs * n_targets
    for d in dirs:
        if d not in ("minimize", "maximize"):
            raise ValueError(f"save_learner: direction must be 'minimize' or 'maximize', got {d!r}")
    if len(dirs) != n_targets:
        raise ValueError(
            f"save_learner: {len(dirs)} directions given for a learner of {n_targets} targets"
        )
    return dirs


def _allowed_types(extra: list[str]) -> set[str]:
    from metarl.learners._registry import available_learners, get_learner_class
    from metarl.learners._transform import TargetTransform

    allowed = set(_SKLEARN_TYPES) | set(extra)
    allowed.add(f"{TargetTransform.__module__}.{TargetTransform.__qualname__}")
    for name in available_learners():
        try:
            cls = get_learner_class(name)
        except Exception:  # noqa: BLE001 - a broken plug-in must not block loading others
            continue
        allowed.add(f"{cls.__module__}.{cls.__qualname__}")
    return allowed


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``metadata.json`` of a learner file, as a dict.

    Keys: ``format``, ``format_version``, ``metarl_version``, ``learner`` (class),
    ``space_fingerprint``, ``tensors``, and, in files written since they were added,
    ``target_names``, ``directions`` (one per target, None when not recorded) and ``extra``
    (the caller's metadata).

    Raises:
        LearnerFileError: not a metarl learner file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("metadata.json"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as e:  # JSON or UTF-8 errors
        raise LearnerFileError(f"{path}: not a metarl learner file ({e})") from None
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt != FORMAT:
        raise LearnerFileError(f"{path}: not a metarl learner file (format {fmt!r})")
    for key in ("target_names", "directions"):
        meta.setdefault(key, None)
    meta.setdefault("extra", {})
    return meta


def load_learner(
    path: str | Path, space: SearchSpace | None = None, *, trusted: list[str] | None = None
) -> MetaLearner:
    """Read a learner written by :func:`save_learner`.

    Args:
        path: the file.
        space: the space the caller will encode configs with; refused unless it is the
            space recorded in the file (same ``fingerprint()``).
        trusted: extra fully qualified type names to allow (a plug-in's own helper types).

    Raises:
        LearnerFileError: not a learner file, another metarl major version, another space,
            or a type outside the allow-list.
    """
    import skops.io as sio

    meta = read_metadata(path)
    saved, here = str(meta.get("metarl_version")), _version()
    if _major(saved) != _major(here):
        raise LearnerFileError(
            f"{path}: written by metarl {saved}, cannot load with metarl {here} "
            "(major versions differ); refit the learner"
        )
    fp = meta.get("space_fingerprint")
    if space is not None and fp is None:
        raise LearnerFileError(f"{path}: saved without a space; load it with space=None")
    if space is not None and space.fingerprint() != fp:
        raise LearnerFileError(
            f"{path}: fitted on another search space (fingerprint {fp}, "
            f"this space {space.fingerprint()})"
        )
    with zipfile.ZipFile(path) as zf:
        body = zf.read("learner.skops")
        tensors = (
            torch.load(io.BytesIO(zf.read("tensors.pt")), weights_only=True)
            if meta.get("tensors")
            else {}
        )
    untrusted = sio.get_untrusted_types(data=body)
    refused = sorted(set(untrusted) - _allowed_types(list(trusted or [])))
    if refused:
        raise LearnerFileError(
            f"{path}: holds types outside the allow-list: {refused} "
            "(register the learner class, or pass trusted=[...] if you trust the file)"
        )
    learner = sio.loads(body, trusted=untrusted)
    return _restore(learner, tensors)
