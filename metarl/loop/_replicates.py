"""Replicates: evaluating the observed incumbent again when the learner says it was lucky.

Under noise, a lucky draw of a mediocre config can stay the best observed result for the
whole run: no other draw beats it, and nothing ever looks at it again. A practitioner's
habit is to re-run such a top config with a new seed before trusting it. A *replicate* is
that: another evaluation of a config already evaluated (a new trainer seed, a new noise
draw), kept as its own row of the :class:`~metarl.loop.History`. The learner fits every row
(its noise term weighs repeated rows), and the observed incumbent is the config with the
best *mean* over its evaluations (:func:`observed_incumbent`; with no repeat, the best
observed value, as before).

The rule (:func:`replicate_due`), opt-in through :class:`Replicates`: in a round with a
fitted learner, the observed incumbent is proposed again when it has fewer than
``max_evals`` evaluations (pending ones included) and its observed mean is better than the
learner's posterior mean there by more than ``z`` of the learner's predictive standard
deviations there (for the default GP that std includes its fitted noise, so a clean task
whose GP fits almost no noise never replicates). It reads only the history and the round's
fitted learner, so a seeded run replays its replicates. A config with a failed (or pruned)
evaluation is never replicated: its failure would bring it back every round.

Replicates need a learner (a policy that fits none, random or TPE, is refused:
:func:`check_replicates_usable`) and are refused with transfer data: that learner fits
normal scores pooled across datasets, not the metric's scale the observed mean is on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from metarl.space import SearchSpace
from metarl.type_aliases import ConfigMatrix, Direction

#: The trial attribute that marks a replicate in an Optuna storage (``Study``,
#: ``MetaRLSampler``): the number of the first COMPLETE trial of its config.
REPLICATE_OF = "metarl:replicate_of"


@dataclass(frozen=True)
class Replicates:
    """When a round re-evaluates its observed incumbent (see the module docstring).

    Args:
        max_evals: the most evaluations of one config, the first included (>= 2): a config
            is replicated at most ``max_evals - 1`` times.
        z: how lucky the incumbent must look: its observed mean better than the learner's
            posterior mean at it by more than ``z`` predictive stds there (>= 0).
    """

    max_evals: int = 2
    z: float = 1.0

    def __post_init__(self) -> None:
        n = self.max_evals
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ValueError(f"replicates: max_evals must be an integer >= 2, got {n!r}")
        z = self.z
        if isinstance(z, bool) or not isinstance(z, (int, float)) or not (0 <= z < math.inf):
            raise ValueError(f"replicates: z must be a finite number >= 0, got {z!r}")

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (``Replicates(**d)`` reads it back)."""
        return asdict(self)


def check_replicates(value: Any) -> Replicates | None:
    """The replicate settings a search runs with (None: no replicates).

    Accepts None or False (off), True (:class:`Replicates` defaults), an integer ``n >= 2``
    (``Replicates(max_evals=n)``), a dict of :class:`Replicates` keywords, or a
    :class:`Replicates`.

    Raises:
        ValueError: anything else (the message names the value).
    """
    if value is None or value is False:
        return None
    if isinstance(value, Replicates):
        return value
    if value is True:
        return Replicates()
    if isinstance(value, (int, np.integer)):
        return Replicates(max_evals=int(value))
    if isinstance(value, Mapping):
        known = {f.name for f in fields(Replicates)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"replicates: unknown key(s) {unknown}; valid: {sorted(known)}")
        return Replicates(**value)
    raise ValueError(
        f"replicates={value!r}: expected None, True, an integer >= 2, a dict of "
        f"{sorted(f.name for f in fields(Replicates))} or a Replicates"
    )


def config_groups(space: SearchSpace, M: ConfigMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``M`` are the same config: ``(group, first)``, ``group[i]`` the group of
    row ``i`` (groups numbered in order of first appearance) and ``first[g]`` the first row
    of group ``g``."""
    index: dict[Any, int] = {}
    group = np.empty(len(M), dtype=np.int64)
    first: list[int] = []
    for i, key in enumerate(space.keys(M) if len(M) else []):
        g = index.setdefault(key, len(first))
        if g == len(first):
            first.append(i)
        group[i] = g
    return group, np.asarray(first, dtype=np.int64)


def config_means(
    space: SearchSpace, M: ConfigMatrix, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct config of ``M`` (in order of first appearance): ``(first, means,
    counts)``, its first row, its mean value over its rows and their number."""
    group, first = config_groups(space, M)
    counts = np.bincount(group, minlength=len(first))
    means = np.bincount(group, weights=np.asarray(y, np.float64), minlength=len(first)) / counts
    return first, means, counts


def n_replicates(space: SearchSpace, M: ConfigMatrix) -> int:
    """Rows of ``M`` that repeat an earlier row (replicate evaluations)."""
    return len(M) - (len(set(space.keys(M))) if len(M) else 0)


def observed_incumbent(
    space: SearchSpace, M: ConfigMatrix, y: np.ndarray, direction: Direction = "minimize"
) -> tuple[int, float, int]:
    """The config with the best mean observed value over its evaluations.

    Returns:
        ``(row, mean, n)``: the first row of ``M`` holding that config, its mean value and
        its number of evaluations (ties: the config evaluated first). Without repeated rows
        this is the row with the best observed value.

    Raises:
        ValueError: no evaluated config.
    """
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("no evaluated config: no incumbent")
    first, means, counts = config_means(space, M, y)
    g = int(np.argmax(means) if direction == "maximize" else np.argmin(means))
    return int(first[g]), float(means[g]), int(counts[g])


def replicate_due(
    space: SearchSpace,
    M: ConfigMatrix,
    y: np.ndarray,
    learner: Any,
    settings: Replicates,
    *,
    direction: Direction = "minimize",
    pending: ConfigMatrix | None = None,
    failed: ConfigMatrix | None = None,
) -> dict[str, Any] | None:
    """Whether a round re-evaluates its observed incumbent, by the rule of
    :class:`Replicates` (see the module docstring).

    Args:
        space: the space searched.
        M, y: the evaluated rows and their observed values.
        learner: the round's fitted learner (``predict(X, return_std=True)``).
        settings: the rule's settings.
        direction: the metric's direction.
        pending: configs proposed and not evaluated yet: a pending replicate counts toward
            ``max_evals``.
        failed: configs with a failed or pruned evaluation: never replicated.

    Returns:
        None, or the record of the replicate: ``row`` (the incumbent's first row of ``M``),
        ``n_evals`` (its evaluations, pending included, before this one), ``mean`` (its
        observed mean), ``predicted`` (the learner's mean there) and ``luck`` (their
        difference toward the good side, in predictive stds).
    """
    if len(y) == 0:
        return None
    row, mean, n = observed_incumbent(space, M, y, direction)
    key = space.keys(M[row : row + 1])[0]
    if failed is not None and len(failed) and key in set(space.keys(failed)):
        return None
    if pending is not None and len(pending):
        n += sum(k == key for k in space.keys(pending))
    if n >= settings.max_evals:
        return None
    mu, sd = learner.predict(space.encode_matrix(M[row : row + 1]), return_std=True)
    mu, sd = float(np.ravel(mu)[0]), float(np.ravel(sd)[0])
    sign = 1.0 if direction == "maximize" else -1.0
    gap = sign * (mean - mu)
    luck = gap / sd if sd > 0 else (math.inf if gap > 0 else 0.0)
    if not luck > settings.z:
        return None
    return {
        "row": row,
        "n_evals": n,
        "mean": mean,
        "predicted": mu,
        "luck": round(luck, 4) if math.isfinite(luck) else None,
    }


def seen_count(
    space: SearchSpace, history: Any, keys: set | None = None, replicates: bool = True
) -> int:
    """The ``n_seen`` a round's seeds come from (:func:`~metarl.loop.round_seed`): the
    distinct configs evaluated, failed or pending, plus, with ``replicates``, the replicate
    evaluations (rows of ``history.M`` repeating an earlier one), so that the round after a
    replicate draws afresh. Without replicates, the number of distinct configs seen (a
    history holding a config twice anyway, an enqueued duplicate, counts it once, as
    before replicates existed)."""
    if keys is None:
        seen = history.seen()
        keys = set(space.keys(seen)) if len(seen) else set()
    return len(keys) + (n_replicates(space, history.M) if replicates else 0)


def fit_order(M: np.ndarray, y: np.ndarray, replicates: bool) -> np.ndarray:
    """The canonical order of a round's training rows: by value, column after column
    (``M`` with NaN as inf); with ``replicates`` a config's rows are then ordered by their
    values, without (as before replicates existed) they keep their arrival order."""
    if not len(M):
        return np.arange(0)
    return np.lexsort((y, *M.T[::-1])) if replicates else np.lexsort(M.T[::-1])


#: Why a policy that fits no learner cannot run with replicates (``label``: its name).
NO_LEARNER = (
    "policy {label!r}: replicates need a model-based policy (the learner decides when the "
    "incumbent looks lucky); this one fits no learner"
)
#: Why replicates are refused with transfer data.
WITH_TRANSFER = (
    "replicates: not supported with transfer data (the learner fits normal scores pooled "
    "across datasets, not the scale of the incumbent's observed mean); pass replicates=None "
    "or no transfer"
)


def fits_learner(policy: Any) -> bool:
    """Whether a policy (an object, a class or a registered name; ``"auto"``: always)
    fits a learner (``requires_learner``)."""
    if isinstance(policy, str):
        if policy == "auto":
            return True
        from metarl.agents import get_policy_class

        policy = get_policy_class(policy)
    return bool(getattr(policy, "requires_learner", True))


def round_settings(
    replicates: Any, policy: Any, label: str | None, transfer: Any
) -> Replicates | None:
    """The replicate settings of a search (:func:`check_replicates`), refused where their
    rule cannot work.

    Args:
        replicates: the setting as given.
        policy: the search policy (object, class or registered name).
        label: the policy's name in messages (None: its class or name).
        transfer: whether the learner fits transfer data of other datasets.

    Raises:
        ValueError: a bad setting; replicates with a policy that fits no learner
            (:data:`NO_LEARNER`) or with transfer data (:data:`WITH_TRANSFER`).
    """
    settings = check_replicates(replicates)
    if settings is None:
        return None
    if not fits_learner(policy):
        name = label or (policy if isinstance(policy, str) else type(policy).__name__)
        raise ValueError(NO_LEARNER.format(label=name))
    if transfer:
        raise ValueError(WITH_TRANSFER)
    return settings


def round_replicate(
    space: SearchSpace,
    history: Any,
    learner: Any,
    settings: Replicates,
    direction: Direction,
    focus: SearchSpace | None,
) -> dict[str, Any] | None:
    """The replicate a round of :func:`~metarl.loop.refine` proposes (the record of
    :func:`replicate_due`), or None: none without a fitted learner, none outside the
    ``focus``."""
    if learner is None or not len(history):
        return None
    due = replicate_due(
        space, history.M, history.y, learner, settings, direction=direction,
        pending=history.pending, failed=history.failed,
    )  # fmt: skip
    if due is None or focus is None:
        return due
    return due if focus.contains_matrix(history.M[[due["row"]]])[0] else None
