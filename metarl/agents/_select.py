"""Candidate selection, shared by every policy: picking proposals from scored candidates
(dedupe, exclusion, ranking, diversity) and a bounded pool of the best candidates. The
scores are the acquisition of ``metarl.learners.acquisition``, which lives with the learners
because the design environments use it too."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from metarl.space import SearchSpace
from metarl.type_aliases import Config, ConfigMatrix


def check_n(n: int) -> int:
    """``n`` as an int >= 1, else a ValueError."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    return int(n)


def _key_matrix(M: ConfigMatrix) -> np.ndarray:
    """Values comparable with ``==`` (NaN, i.e. inactive, becomes a sentinel)."""
    return np.where(np.isnan(M), np.inf, np.round(M, 12))


def excluded_keys(space: SearchSpace, exclude: Sequence[Config]) -> set[bytes]:
    """The row keys of ``exclude`` (validated against ``space``)."""
    if len(exclude) == 0:
        return set()
    return set(space.keys(space.to_matrix(list(exclude))))


def _drop_dupes_and_excluded(
    space: SearchSpace, M: ConfigMatrix, scores: np.ndarray, exclude: set[bytes]
) -> tuple[ConfigMatrix, np.ndarray]:
    keys = space.keys(M)
    seen: set[bytes] = set(exclude)
    keep = np.zeros(len(keys), dtype=bool)
    for i in np.argsort(-scores, kind="stable"):  # keep the best-scored copy of each key
        if keys[i] not in seen:
            seen.add(keys[i])
            keep[i] = True
    return M[keep], scores[keep]


def select_top(
    space: SearchSpace,
    M: ConfigMatrix,
    scores: np.ndarray,
    n: int,
    *,
    exclude: set[bytes] | Sequence[Config] = (),
    min_distance: int = 1,
) -> tuple[ConfigMatrix, np.ndarray]:
    """The best ``n`` distinct candidates not in ``exclude``, diverse where possible.

    Greedy: take the best remaining candidate, then set aside every candidate that differs
    from it in fewer than ``min_distance`` value columns; repeat. When that leaves fewer than
    ``n``, the set-aside candidates fill up the rest by score (distinct, never excluded).

    Args:
        space: the space the rows belong to.
        M: (m, n_columns) candidate value matrix, possibly with duplicates.
        scores: (m,) higher is better.
        n: how many to keep.
        exclude: configs (or their ``space.keys``) never to return.
        min_distance: 1 = just distinct; k > 1 = prefer proposals that differ pairwise in at
            least k columns.

    Returns:
        The kept rows and their scores, best first (at most ``n``).
    """
    ex = exclude if isinstance(exclude, set) else excluded_keys(space, exclude)
    M, scores = _drop_dupes_and_excluded(space, np.asarray(M, dtype=np.float64), scores, ex)
    order = np.argsort(-scores, kind="stable")
    M, scores = M[order], scores[order]
    if min_distance <= 1 or len(M) <= n:
        return M[:n], scores[:n]
    K = _key_matrix(M)
    free = np.ones(len(M), dtype=bool)
    chosen: list[int] = []
    while len(chosen) < n and free.any():
        i = int(np.argmax(free))  # rows are sorted: the first free one is the best
        chosen.append(i)
        free &= (K[i] != K).sum(axis=1) >= min_distance
    if len(chosen) < n:
        rest = np.setdiff1d(np.arange(len(M)), chosen)[: n - len(chosen)]
        chosen = sorted(chosen + rest.tolist(), key=lambda j: -scores[j])
    idx = np.asarray(chosen, dtype=np.int64)
    return M[idx], scores[idx]


def warn_short(got: int, n: int, policy: str) -> None:
    """Say so when fewer than ``n`` configs are left to propose."""
    if got < n:
        warnings.warn(
            f"{policy}: asked for {n} configs but only {got} unexplored ones were found "
            "(the rest of the space is excluded or exhausted); returning those",
            UserWarning,
            stacklevel=3,
        )


class TopK:
    """A memory-bounded running pool of the best-scored candidates over many chunks.

    Each chunk keeps only its ``capacity + len(exclude)`` best rows before dedupe, so memory
    stays ``O(capacity)`` whatever the number of candidates scored.
    """

    def __init__(self, space: SearchSpace, capacity: int, exclude: set[bytes]) -> None:
        self.space = space
        self.capacity = int(capacity)
        self.exclude = exclude
        self.M = np.empty((0, space.n_columns), dtype=np.float64)
        self.scores = np.empty(0, dtype=np.float64)

    def add(self, M: ConfigMatrix, scores: np.ndarray) -> None:
        """Merge a scored chunk into the pool."""
        need = self.capacity + len(self.exclude)
        k = need
        while True:  # widen the chunk's top-k until it holds enough distinct rows
            if len(scores) > k:
                part = np.argpartition(-scores, k - 1)[:k]
                top, top_scores = M[part], scores[part]
            else:
                top, top_scores = M, scores
            top, top_scores = _drop_dupes_and_excluded(self.space, top, top_scores, set())
            if len(top) >= need or len(top) == len(scores) or k >= len(scores):
                break
            k *= 4
        M = np.concatenate([self.M, top])
        scores = np.concatenate([self.scores, top_scores])
        M, scores = _drop_dupes_and_excluded(self.space, M, scores, self.exclude)
        if len(scores) > self.capacity:
            part = np.argpartition(-scores, self.capacity - 1)[: self.capacity]
            M, scores = M[part], scores[part]
        self.M, self.scores = M, scores

    @property
    def best(self) -> float:
        """The best score seen so far (``-inf`` when empty)."""
        return float(self.scores.max()) if len(self.scores) else -np.inf
