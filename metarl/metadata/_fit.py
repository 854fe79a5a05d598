"""Fit and cross-validate a meta-learner on past runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from metarl.learners import (
    MetaLearner,
    cross_val_predict,
    evaluate,
    make_learner,
    score_predictions,
)
from metarl.metadata._runs import RunData, RunDataError, RunSource, load_runs
from metarl.space import SearchSpace
from metarl.type_aliases import Direction

#: Fewest runs :func:`fit_learner` accepts: fewer give no meaningful cross-validation.
MIN_RUNS = 10


def fit_learner(
    source: RunSource | RunData,
    space: SearchSpace,
    target: str | Sequence[str],
    learner: str | MetaLearner = "auto",
    cv: int = 5,
    seed: int = 0,
    *,
    direction: Direction | Sequence[Direction] | None = None,
    ignore: Sequence[str] = (),
    min_runs: int = MIN_RUNS,
) -> tuple[MetaLearner, dict[str, Any]]:
    """Cross-validate a meta-learner on past runs, then fit it on all of them.

    Args:
        source: past runs, as :func:`load_runs` takes them, or a loaded :class:`RunData`.
        space: their search space.
        target: the metric(s) to predict.
        learner: a :func:`~metarl.learners.make_learner` name (seeded with ``seed`` when it
            takes a ``random_state``) or an unfitted learner instance (cloned).
        cv: cross-validation folds.
        seed: seeds the folds and the learner.
        direction: per target (or one for all); see :func:`load_runs`.
        ignore: columns or study parameters to skip.
        min_runs: refuse fewer usable runs than this (and than ``cv``).

    Returns:
        ``(learner, quality)``: the learner fitted on every run, and the cross-validated
        quality of :func:`metarl.learners.evaluate` (``rmse``, ``r2``, ``spearman``,
        ``kendall``, ``top10_recall``: floats for one target, arrays for several, each
        target scored in its own direction).

    Raises:
        RunDataError: bad runs (see :func:`load_runs`) or too few of them.
        ValueError: an unknown learner name or a bad ``cv``.
    """
    data = (
        source
        if isinstance(source, RunData)
        else load_runs(source, space, target, direction=direction, ignore=ignore)
    )
    if not isinstance(cv, int) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2, got {cv!r}")
    need = max(min_runs, cv)
    if len(data) < need:
        raise RunDataError(
            f"{data.source}: {len(data)} usable run(s); fitting and {cv}-fold "
            f"cross-validating a meta-learner needs at least {need}"
        )
    est = _make(learner, seed)
    quality = _quality(est, data, cv, seed)
    fitted = clone(est).fit(data.X, data.y, target_names=data.target_names)
    return fitted, quality


def _make(learner: str | MetaLearner, seed: int) -> MetaLearner:
    if isinstance(learner, MetaLearner):
        return learner
    if not isinstance(learner, str):
        raise TypeError(f"learner must be a name or a MetaLearner, got {type(learner).__name__}")
    est = make_learner(learner)
    if "random_state" in est.get_params(deep=False):
        est.set_params(random_state=seed)
    return est


def _quality(est: MetaLearner, data: RunData, cv: int, seed: int) -> dict[str, Any]:
    if len(set(data.directions)) == 1:
        return evaluate(est, data.X, data.y, cv=cv, seed=seed, direction=data.direction)
    # targets of mixed directions: one out-of-fold prediction, each target scored its own way
    oof = cross_val_predict(est, data.X, data.y, cv=cv, seed=seed)
    per = [
        score_predictions(data.y[:, j], oof[:, j], direction=d)
        for j, d in enumerate(data.directions)
    ]
    return {k: np.array([p[k] for p in per]) for k in per[0]}
