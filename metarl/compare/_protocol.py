"""One run of the comparison protocol (../shared/PROTOCOL.md): a policy, a task, a seed.

A run evaluates ``budget`` configs of a tabular task. The first ``n_init`` are a random
initial design (the same for every policy at a given seed); then, round after round, the
policy proposes ``batch_size`` configs that have not been evaluated. An evaluation returns
one recorded seed at random (noisy); the incumbent is the config with the best *observed*
value and its regret uses its *true* (seed-mean) value.

Model-free policies (``requires_learner = False``: random, evolution, tpe, gp) get the
history and no learner. Model-based ones get a meta-learner fitted, every round, on every
observation (and, with ``transfer``, on the other datasets of the family too).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from metarl.compare._policies import PolicySpec

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
    "seconds",
]

#: Random noisy evaluations of each other dataset of the family, under ``transfer``.
TRANSFER_SIZE = 200


def checkpoints(budget: int) -> list[int]:
    """The checkpoints of a run with this budget: CHECKPOINTS up to it, plus the budget."""
    return sorted({c for c in CHECKPOINTS if c <= budget} | {budget})


def family_of(task_name: str) -> str:
    """The family part of a task name (``"hpolib/protein_structure"`` -> ``"hpolib"``)."""
    return task_name.split("/", 1)[0]


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams of a run, so a policy's draws never shift the noise."""
    names = ("init", "noise", "transfer")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children)}


def transfer_data(
    task_name: str, seed: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoded features, noisy values and dataset names of ``TRANSFER_SIZE`` random configs
    of each other dataset of the task's family, each encoded with its own dataset as context.

    Raises:
        ValueError: the task's family has no other dataset, or a sibling's space encodes a
            different width than the target's.
    """
    from metarl.benchmarks import list_tasks, load_task

    target = load_task(task_name, seed)
    siblings = [t for t in list_tasks(family_of(task_name)) if t != task_name]
    if not siblings:
        raise ValueError(f"transfer: task {task_name!r} has no other dataset in its family")
    Xs, ys, groups = [], [], []
    for name in siblings:
        sib = load_task(name, seed)
        M = _distinct_sample(sib.space, TRANSFER_SIZE, rng, set())
        X = sib.space.encode_matrix(M)
        if X.shape[1] != target.space.encoded_width:
            raise ValueError(
                f"transfer: {name!r} encodes {X.shape[1]} features, {task_name!r} "
                f"{target.space.encoded_width}; they are not one family"
            )
        Xs.append(X)
        ys.append(np.asarray(sib.sample_observations(M, rng), dtype=np.float64))
        groups.append(np.full(len(M), name))
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(groups)


def _distinct_sample(space: Any, n: int, rng: np.random.Generator, seen: set[bytes]) -> np.ndarray:
    """``n`` distinct random configs not in ``seen`` (keys), as a value matrix."""
    rows: list[np.ndarray] = []
    keys: set[bytes] = set()
    for _ in range(100):
        M = space.snap_to_grid(space.sample_matrix(max(2 * n, 16), rng))
        for row, k in zip(M, space.keys(M)):
            if k not in seen and k not in keys:
                keys.add(k)
                rows.append(row)
                if len(rows) == n:
                    return np.asarray(rows)
    raise ValueError(f"could not draw {n} distinct unseen configs (space too small?)")


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
        transfer: warm-start the meta-learner with the other datasets of the family.

    Returns:
        A DataFrame with the columns of :data:`COLUMNS`.
    """
    from metarl.agents import make_policy_for
    from metarl.benchmarks import load_task

    if budget < 1 or n_init < 0 or batch_size < 1:
        raise ValueError(
            f"need budget >= 1, n_init >= 0, batch_size >= 1; got {budget}, {n_init}, {batch_size}"
        )
    task = load_task(task_name, seed)
    space = task.space
    rng = _streams(seed)
    policy = make_policy_for(spec.name, space, spec.kwargs, transfer=transfer)
    policy.reseed(seed)
    model_free = not getattr(policy, "requires_learner", True)
    X_prior = y_prior = g_prior = None
    if transfer and not model_free:
        X_prior, y_prior, g_prior = transfer_data(task_name, seed, rng["transfer"])
        n_init = 0
    n_init = min(n_init, budget)

    M = np.empty((0, space.n_columns))
    y = np.empty(0)
    seen: set[bytes] = set()
    rows = []
    marks = checkpoints(budget)
    start = time.perf_counter()
    while len(y) < budget:
        if len(y) < n_init:
            M_new = _distinct_sample(space, n_init - len(y), rng["init"], seen)
        else:
            M_new = _propose(
                spec,
                policy,
                model_free,
                space,
                task,
                M,
                y,
                (X_prior, y_prior, g_prior) if X_prior is not None else None,
                min(batch_size, budget - len(y)),
                seen,
            )
        y_new = np.asarray(task.sample_observations(M_new, rng["noise"]), dtype=np.float64)
        for row, v in zip(M_new, y_new):
            M = np.vstack([M, row[None]])
            y = np.append(y, v)
            seen.update(space.keys(row[None]))
            if len(y) in marks:
                rows.append(_checkpoint(spec.label, task_name, seed, task, M, y, start))
            if len(y) == budget:
                break
    return pd.DataFrame(rows, columns=COLUMNS)


def _propose(
    spec: PolicySpec,
    policy: Any,
    model_free: bool,
    space: Any,
    task: Any,
    M: np.ndarray,
    y: np.ndarray,
    prior: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    k: int,
    seen: set[bytes],
) -> np.ndarray:
    """One round of the policy: fit the learner where it has one, then propose ``k``.

    With transfer data (``prior``: features, values, dataset names), every dataset's values
    become normal scores of their ranks within that dataset before the fit: raw values of
    different datasets are not comparable, their ranks are.
    """
    configs = space.to_configs(M)
    learner = None
    if not model_free:
        from metarl.learners import group_normal_scores, make_learner

        X = space.encode_matrix(M)
        yy = y
        if prior is not None:
            X_prior, y_prior, g_prior = prior
            X = np.concatenate([X_prior, X])
            groups = np.concatenate([g_prior, np.full(len(y), task.name)])
            yy = group_normal_scores(np.concatenate([y_prior, y]), groups)
        learner = make_learner(spec.learner, **spec.learner_kwargs).fit(
            X, yy, target_names=[task.metric]
        )
    proposals = policy.propose(
        space,
        learner,
        k,
        direction=task.direction,
        exclude=configs,
        history=list(zip(configs, y.tolist())),
    )
    M_new = space.to_matrix(proposals)
    fresh = [k not in seen for k in space.keys(M_new)]
    if not all(fresh) or len(M_new) == 0:
        raise RuntimeError(
            f"policy {spec.label!r} proposed {len(M_new)} configs, "
            f"{fresh.count(False)} of them already evaluated"
        )
    return M_new


def _checkpoint(
    label: str, task_name: str, seed: int, task: Any, M: np.ndarray, y: np.ndarray, start: float
) -> dict[str, Any]:
    best = int(np.argmin(y) if task.direction == "minimize" else np.argmax(y))
    true = float(np.asarray(task.true_value(M[best : best + 1]))[0])
    regret = float(np.asarray(task.normalized_regret(np.asarray([true])))[0])
    return {
        "policy": label,
        "task": task_name,
        "seed": seed,
        "n_evals": len(y),
        "best_observed": float(y[best]),
        "true_value": true,
        "norm_regret": regret,
        "seconds": round(time.perf_counter() - start, 4),
    }
