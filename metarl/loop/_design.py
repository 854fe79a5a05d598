"""The random parts of a search run: its seeded streams, each round's seeds and the initial
design."""

from __future__ import annotations

import numpy as np

from metarl.space import SearchSpace
from metarl.type_aliases import ConfigMatrix

#: The independent random streams of a run (see :func:`seed_streams`).
STREAMS = ("init", "noise", "transfer")
#: The random parts of one round (see :func:`round_seed`).
ROUND_STREAMS = ("random", "learner", "policy")


def seed_streams(seed: int) -> dict[str, np.random.Generator]:
    """The run's independent random streams, derived from one seed.

    ``"init"`` draws the initial design, ``"noise"`` the noise of a benchmark task's
    evaluations and ``"transfer"`` the meta-data of other datasets. They are separate
    children of ``SeedSequence(seed)``, so that a policy's own draws, or a longer initial
    design, never shift the noise or the transfer data of the same seed.
    """
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children)}


def round_seed(seed: int, n_seen: int, part: str) -> int:
    """The seed of one random part of a round, from the run's seed and the round's history.

    ``part`` is ``"random"`` (the random configs of a round with too little data to fit),
    ``"learner"`` (the learner's random starts) or ``"policy"`` (the policy's draws). A
    round's randomness depends on nothing but the run's seed and ``n_seen``, the number of
    configs evaluated, failed or pending when it starts: not on the rounds a process ran
    before, so a resumed run, a new sampler or another entry point replays the same round.
    """
    entropy = [int(seed), int(n_seen), ROUND_STREAMS.index(part)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


#: The kinds of initial design :func:`initial_design` draws.
DESIGNS = ("random", "maximin")
#: Random designs a ``"maximin"`` design is chosen from.
MAXIMIN_CANDIDATES = 100


def initial_design(
    space: SearchSpace,
    n: int,
    rng: np.random.Generator,
    exclude: ConfigMatrix | None = None,
    *,
    tries: int = 100,
    method: str = "random",
) -> ConfigMatrix:
    """``n`` distinct random configs of the design grid, none in ``exclude``.

    Configs are drawn uniformly (``space.sample_matrix``) and snapped to the design grid, in
    chunks of ``max(2 n, 16)``; the first ``n`` distinct unexcluded ones are kept, in draw
    order: the design of a seed and a size depends on nothing else.

    With ``method="maximin"``, :data:`MAXIMIN_CANDIDATES` such designs are drawn and the most
    spread one is kept: the largest smallest pairwise distance in the learner's encoding
    (``space.encode``). Each candidate is a random design, so the marginals stay uniform
    (a farthest-point design would favour the edges of every range).

    Args:
        space: the space.
        n: the number of configs.
        rng: the generator (the run's ``"init"`` stream, :func:`seed_streams`).
        exclude: a value matrix of configs not to draw (evaluated, failed or pending).
        tries: chunks drawn at most.
        method: ``"random"`` or ``"maximin"`` (:data:`DESIGNS`).

    Returns:
        An ``(m, space.n_columns)`` value matrix, ``m <= n``: fewer only when ``tries``
        chunks did not hold ``n`` new configs (a space nearly exhausted).
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n={n!r}: expected a non-negative integer")
    if method not in DESIGNS:
        raise ValueError(f"initial design {method!r}: expected one of {', '.join(DESIGNS)}")
    if method == "maximin" and n > 1:
        best, best_d = None, -np.inf
        for _ in range(MAXIMIN_CANDIDATES):
            M = _random_design(space, n, rng, exclude, tries)
            X = space.encode(M)
            sq = (X * X).sum(1)
            D = sq[:, None] + sq[None, :] - 2.0 * X @ X.T
            d = np.min(D[np.triu_indices(len(M), 1)]) if len(M) > 1 else 0.0
            if d > best_d:
                best, best_d = M, d
        return best
    return _random_design(space, n, rng, exclude, tries)


def _random_design(
    space: SearchSpace,
    n: int,
    rng: np.random.Generator,
    exclude: ConfigMatrix | None,
    tries: int,
) -> ConfigMatrix:
    seen = set(space.keys(exclude)) if exclude is not None and len(exclude) else set()
    rows: list[np.ndarray] = []
    for _ in range(tries if n else 0):
        M = space.snap_to_grid(space.sample_matrix(max(2 * n, 16), rng))
        for row, key in zip(M, space.keys(M)):
            if key not in seen:
                seen.add(key)
                rows.append(row)
                if len(rows) == n:
                    return np.asarray(rows)
    return np.asarray(rows).reshape(len(rows), space.n_columns)
