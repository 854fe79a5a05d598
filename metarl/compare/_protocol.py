"""One run of the comparison protocol (../shared/PROTOCOL.md): a policy, a task, a seed.

A run evaluates ``budget`` configs of a tabular task. The first ``n_init`` are a random
initial design (the same for every policy at a given seed, and the same a ``Study`` with
that seed draws); then, round after round, the policy proposes ``batch_size`` configs that
have not been evaluated (:func:`metarl.loop.refine`, the round every search runs). An
evaluation returns one recorded seed at random (noisy); the incumbent is the config with the
best *observed* value (with replicates, the best mean over a config's evaluations) and its
regret uses its *true* (seed-mean) value. Next to it, every
checkpoint records the noise-aware incumbent (:func:`metarl.loop.recommend`: the evaluated
config with the best posterior mean of the spec's learner, fitted on the run's history, for
model-free policies too) and its regret, also on the true value.

A spec with ``replicates`` re-evaluates a lucky-looking incumbent (``refine(replicates=
...)``); a replicate is an independent draw of one of the recorded seeds from the run's
noise stream, like any evaluation (it may repeat a seed already drawn for that config), and
``n_replicates`` in runs.csv counts them.

Model-free policies (``requires_learner = False``: random, evolution, tpe, gp) get the
history and no learner. Model-based ones get a meta-learner fitted, every round, on every
observation (and, with ``transfer``, on the other datasets of the family too).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from metarl.compare._policies import PolicySpec
from metarl.loop import (
    History,
    Round,
    initial_design,
    load_transfer,
    make_search_policy,
    n_replicates,
    observed_incumbent,
    recommend,
    refine,
    seed_streams,
)
from metarl.loop._replicates import round_settings

#: The evaluation counts at which a run's incumbent is recorded (those <= budget, and the
#: budget itself).
CHECKPOINTS = (10, 25, 50, 100, 200)

#: Columns of runs.csv (one row per policy, task, seed and checkpoint).
COLUMNS = [
    "policy",
    "task",
    "seed",
    "n_evals",
    "best_observed",
    "true_value",
    "norm_regret",
    "rec_true_value",
    "rec_regret",
    "seconds",
    "n_replicates",
]


def checkpoints(budget: int) -> list[int]:
    """The checkpoints of a run with this budget: CHECKPOINTS up to it, plus the budget."""
    return sorted({c for c in CHECKPOINTS if c <= budget} | {budget})


def family_of(task_name: str) -> str:
    """The family part of a task name (``"hpolib/protein_structure"`` -> ``"hpolib"``)."""
    return task_name.split("/", 1)[0]


def sibling_tasks(task_name: str) -> list[str]:
    """The other datasets of the task's family, the transfer sources of its runs; a noisy
    variant's siblings are the same variant of the other datasets (never its own clean
    dataset).

    Raises:
        ValueError: the family has no other dataset.
    """
    from metarl.benchmarks import list_tasks, split_task_name

    base, variant = split_task_name(task_name)
    siblings = [t + variant.suffix for t in list_tasks(family_of(base)) if t != base]
    if not siblings:
        raise ValueError(f"transfer: task {task_name!r} has no other dataset in its family")
    return siblings


def run_one(
    spec: PolicySpec,
    task_name: str,
    seed: int,
    *,
    budget: int,
    n_init: int = 10,
    batch_size: int = 1,
    transfer: bool = False,
) -> pd.DataFrame:
    """Run one (policy, task, seed) under the protocol; one row per checkpoint.

    Args:
        spec: the contender (see :func:`metarl.compare.parse_policy`).
        task_name: a task of :func:`metarl.benchmarks.list_tasks`.
        seed: the run's seed (initial design, noise, transfer data and the policy's).
        budget: the number of evaluations.
        n_init: random initial configs. With ``transfer`` a model-based policy has none: it
            proposes from the first evaluation, on the transfer data.
        batch_size: configs proposed per round.
        transfer: warm-start the meta-learner with the other datasets of the family
            (:data:`metarl.loop.TRANSFER_SIZE` noisy evaluations of each).

    Returns:
        A DataFrame with the columns of :data:`COLUMNS`; ``seconds`` is the policy's time
        (the recommendation's fits excluded).
    """
    from metarl.benchmarks import load_task
    from metarl.learners import make_learner

    task = load_task(task_name, seed_streams(seed)["noise"])
    learner = make_learner(spec.learner, **spec.learner_kwargs)
    rows = []
    marks = checkpoints(budget)
    M, y = np.empty((0, task.space.n_columns)), np.empty(0)
    start, outside = time.perf_counter(), 0.0
    for step, y_new in run_rounds(
        spec, task, seed, budget=budget, n_init=n_init, batch_size=batch_size, transfer=transfer
    ):
        for row, v in zip(step.M, y_new):
            M, y = np.vstack([M, row[None]]), np.append(y, v)
            if len(y) in marks:
                seconds = time.perf_counter() - start - outside
                t0 = time.perf_counter()
                rec = recommend(
                    task.space,
                    History(M, y),
                    learner,
                    direction=task.direction,
                    metric=task.metric,
                    seed=seed,
                    replicates=spec.replicates,
                )
                outside += time.perf_counter() - t0
                rows.append(_checkpoint(spec.label, task_name, seed, task, M, y, rec, seconds))
    return pd.DataFrame(rows, columns=COLUMNS)


def run_rounds(
    spec: PolicySpec,
    task: Any,
    seed: int,
    *,
    budget: int,
    n_init: int = 10,
    batch_size: int = 1,
    transfer: bool = False,
) -> Iterator[tuple[Round, np.ndarray]]:
    """The rounds of one run: each round's :class:`~metarl.loop.Round` and observed values.

    Every round is :func:`metarl.loop.refine`, the round ``Study`` and ``MetaRLSampler`` run,
    on an in-memory history; the initial design and the transfer data come from the seed's
    streams (:func:`metarl.loop.seed_streams`), as a ``Study`` with that seed draws them.
    Evaluations draw their noise from ``task``'s own generator, in evaluation order (what
    :func:`run_one` seeds with the ``"noise"`` stream).

    Args:
        spec, seed, budget, n_init, batch_size, transfer: as :func:`run_one`.
        task: the benchmark task (a :class:`~metarl.benchmarks.TabularTask`).
    """
    from metarl.learners import make_learner

    if budget < 1 or n_init < 0 or batch_size < 1:
        raise ValueError(
            f"need budget >= 1, n_init >= 0, batch_size >= 1; got {budget}, {n_init}, {batch_size}"
        )
    rng = seed_streams(seed)
    space = task.space
    policy = make_search_policy(spec.name, space, spec.kwargs, transfer=transfer, seed=seed)
    round_settings(spec.replicates, policy, spec.label, transfer)
    learner = make_learner(spec.learner, **spec.learner_kwargs)
    prior = None
    if transfer and getattr(policy, "requires_learner", True):
        prior = load_transfer(
            sibling_tasks(task.name), space, metric=task.metric, rng=rng["transfer"]
        )
        n_init = 0
    design = initial_design(space, min(n_init, budget), rng["init"], method=spec.init_design)
    M, y = np.empty((0, space.n_columns)), np.empty(0)
    while len(y) < budget:
        step = refine(
            space,
            History(M, y),
            min(batch_size, budget - len(y)),
            learner=learner,
            policy=policy,
            direction=task.direction,
            transfer=prior,
            design=design,
            metric=task.metric,
            seed=seed,
            label=spec.label,
            replicates=spec.replicates,
            past_bests=spec.past_bests,
        )
        if len(step.M) == 0:
            raise RuntimeError(f"policy {spec.label!r} proposed no config")
        y_new = np.asarray(task.sample_observations(step.M), dtype=np.float64)
        M, y = np.concatenate([M, step.M]), np.concatenate([y, y_new])
        yield step, y_new


def _checkpoint(
    label: str,
    task_name: str,
    seed: int,
    task: Any,
    M: np.ndarray,
    y: np.ndarray,
    rec: int,
    seconds: float,
) -> dict[str, Any]:
    """One row of runs.csv: the observed-best incumbent (the best mean over a config's
    evaluations, :func:`metarl.loop.observed_incumbent`) and the recommended row ``rec``,
    each with its true (clean, seed-mean) value and normalised regret; ``best_observed`` is
    the incumbent's observed mean."""
    best, mean, _ = observed_incumbent(task.space, M, y, task.direction)
    true = np.asarray(task.true_value(M[[best, rec]]), dtype=np.float64)
    regret = np.asarray(task.normalized_regret(true), dtype=np.float64)
    return {
        "policy": label,
        "task": task_name,
        "seed": seed,
        "n_evals": len(y),
        "best_observed": mean,
        "true_value": float(true[0]),
        "norm_regret": float(regret[0]),
        "rec_true_value": float(true[1]),
        "rec_regret": float(regret[1]),
        "seconds": round(seconds, 4),
        "n_replicates": n_replicates(task.space, M),
    }
