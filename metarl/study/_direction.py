"""Which way a metric is better: given, declared by the trainer, or read from its name.

One rule for every entry point: ``Study``, ``metarl run``, ``metarl learner fit`` and
``metarl propose`` read ``cv_acc`` as maximized and ``val_loss`` as minimized, and say so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Words of a metric's name that say which way is better (``neg`` flips, as in sklearn's
#: ``neg_mean_squared_error``).
MAXIMIZE_WORDS = frozenset(
    {"acc", "accuracy", "auc", "f1", "r2", "score", "precision", "recall", "reward"}
    | {"return", "iou", "dice", "bleu"}
)
MINIMIZE_WORDS = frozenset(
    {"loss", "error", "err", "mse", "rmse", "mae", "mape", "nll", "perplexity", "regret"}
    | {"cost", "time", "seconds", "latency"}
)


def infer_direction(metric: str) -> tuple[str, str] | None:
    """``(direction, reason)`` read from a metric's name, or None when it does not say.

    ``cv_acc`` -> maximize (``'acc' in the name``), ``val_loss`` -> minimize,
    ``neg_mean_squared_error`` -> maximize; a name with words of both kinds (or none) -> None.
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", metric)  # valAcc -> val_Acc
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    up = [w for w in words if w in MAXIMIZE_WORDS]
    down = [w for w in words if w in MINIMIZE_WORDS]
    if bool(up) == bool(down):
        return None
    direction, word = ("maximize", up[0]) if up else ("minimize", down[0])
    if "neg" in words:
        flipped = "minimize" if direction == "maximize" else "maximize"
        return flipped, f"'neg' and '{word}' in its name"
    return direction, f"'{word}' in its name"


def trainer_direction(trainer: Any, metric: str) -> str | None:
    """The direction a trainer declares for ``metric``: its ``directions[metric]`` (a
    benchmark task's), else its ``direction`` when ``metric`` is its own ``metric``."""
    directions = getattr(trainer, "directions", None)
    if isinstance(directions, Mapping) and metric in directions:
        return str(directions[metric])
    own = getattr(trainer, "metric", None)
    declared = getattr(trainer, "direction", None)
    if declared is not None and (own is None or own == metric):
        return str(declared)
    return None


def resolve_direction(
    direction: str | None, trainer: Any, metric: str
) -> tuple[str, str | None] | None:
    """``(direction, reason)`` of a study's metric, or None when nothing tells it.

    ``direction`` when given (reason None: the user chose it), else the trainer's
    (:func:`trainer_direction`), else the one read from ``metric``'s name
    (:func:`infer_direction`).
    """
    if direction is not None:
        return direction, None
    declared = trainer_direction(trainer, metric) if trainer is not None else None
    if declared is not None:
        return declared, "the trainer's"
    return infer_direction(metric)


def study_direction(direction: str | None, trainer: Any, metric: str) -> tuple[str, str | None]:
    """:func:`resolve_direction`, else minimize (Optuna's default), with the reason."""
    found = resolve_direction(direction, trainer, metric)
    if found is None:
        return "minimize", "its name does not say which way is better; Optuna's default"
    return found


def direction_line(direction: str, metric: str, why: str) -> str:
    """The one line that says which way a metric is optimised, why, and how to change it."""
    other = "maximize" if direction == "minimize" else "minimize"
    return f"metarl: {direction} {metric!r} ({why}); pass direction={other!r} to change"
