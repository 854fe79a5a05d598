"""Which evaluated config a search recommends: a noise-aware incumbent.

Under noise the config with the best *observed* value is often a lucky draw of a mediocre
config, and it stays the incumbent for as long as no other draw is luckier. A fitted
learner pools every observation: its predicted (posterior) mean at an evaluated config
weighs that config's value against its neighbours', so a lone lucky draw is shrunk toward
them. :func:`recommend` returns the evaluated config with the best predicted mean; the
learner it fits is the one a round of :func:`~metarl.loop.refine` fits on the same
history and seed, so a search that refits every evaluation gets it at no extra cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metarl.space import SearchSpace
from metarl.type_aliases import Direction


def best_predicted(
    space: SearchSpace, M: np.ndarray, learner: Any, direction: Direction = "minimize"
) -> int:
    """The row of ``M`` whose predicted mean under a fitted ``learner`` is best.

    Args:
        space: the space the rows belong to.
        M: (n, n_columns) evaluated configs as a value matrix (n >= 1).
        learner: a meta-learner fitted on ``space``'s encoding.
        direction: the metric's direction.

    Returns:
        The row index (the first one on ties).

    Raises:
        ValueError: ``M`` has no row, or the learner is not fitted on this space.
    """
    from metarl.learners._acquisition import acquisition, check_learner

    if len(M) == 0:
        raise ValueError("recommend: no evaluated config to recommend from")
    check_learner(space, learner)
    score = acquisition(learner, space.encode_matrix(M), "mean", direction=direction)
    return int(np.argmax(score))


def recommend(
    space: SearchSpace,
    history: Any,
    learner: Any,
    *,
    direction: Direction = "minimize",
    metric: str = "value",
    seed: int = 0,
    replicates: Any = None,
) -> int:
    """The evaluated config with the best posterior mean: the noise-aware incumbent.

    Fits a seeded clone of ``learner`` on the history as a round of
    :func:`~metarl.loop.refine` with this ``seed`` does (same rows, order and seed, hence
    the same fit), then picks with :func:`best_predicted`. With fewer than two
    observations there is nothing to pool: the best observed one is returned.

    Args:
        space: the space searched.
        history: a :class:`~metarl.loop.History` with at least one evaluated config.
        learner: an unfitted meta-learner (not changed).
        direction: the metric's direction.
        metric: the metric's name (the learner's target name).
        seed: the run's seed.
        replicates: the run's ``refine(replicates=...)`` (its seeds and row order count
            replicate rows only when set).

    Returns:
        The index of the recommended row of ``history.M`` (and ``history.y``); with
        repeated rows (replicates) their predicted means are equal, and the first is
        returned.

    Raises:
        ValueError: an empty history.
    """
    from metarl.learners._acquisition import check_direction
    from metarl.loop._replicates import seen_count
    from metarl.loop._round import _fit

    check_direction(direction)
    y = np.asarray(history.y, dtype=np.float64)
    if len(y) == 0:
        raise ValueError("recommend: no evaluated config to recommend from")
    if len(y) < 2:
        return 0
    on = replicates is not None and replicates is not False
    n_seen = seen_count(space, history, replicates=on)
    fitted, *_ = _fit(
        space, history, learner, None, metric, direction, seed, n_seen, cv=0, replicates=on
    )
    return best_predicted(space, history.M, fitted, direction)
