"""Transfer data: past results of other datasets (or studies) as extra training data.

One loader for every source a search can warm-start from: benchmark tasks (random, noisy
evaluations of a sibling dataset), other studies in the same Optuna storage, and past runs in
a CSV file or a DataFrame (read by :func:`metarl.metadata.load_runs`). Each source's configs
are snapped to the design grid and encoded with their own context (the dataset), then the
pool is checked against the space's encoded width and de-duplicated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metarl._defaults import TRANSFER_POOLED_MAX
from metarl.loop._design import initial_design
from metarl.space import SearchSpace
from metarl.type_aliases import Config

#: Random noisy evaluations drawn from each benchmark task given as a source.
TRANSFER_SIZE = 200


def context_label(values: Mapping[str, Any]) -> str:
    """The group (dataset) label of configs with these context values: ``"dataset=cifar10"``.

    Values of different groups are not comparable (a val_acc of 70 is excellent on cifar100
    and poor on cifar10); the round ranks them within their group.
    """
    return ",".join(f"{k}={values[k]}" for k in sorted(values))


@dataclass(frozen=True)
class TransferData:
    """Meta-data of other datasets, ready to join a learner's training set.

    Attributes:
        X: ``(n, space.encoded_width)`` float32 features, each row with its own context.
        y: ``(n,)`` float64 observed values of the metric.
        groups: ``(n,)`` group labels (:func:`context_label` of each row's context).
        contexts: label -> the context values it stands for (``{"dataset": "cifar100"}``).
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)


def transfer_learner(learner: Any, n_rows: int) -> tuple[Any, str | None]:
    """The learner a round fits with ``n_rows`` rows of transfer data (other datasets').

    A :class:`~metarl.learners.GPLearner` (the default learner) stays one GP on the pooled
    rows up to :data:`~metarl._defaults.TRANSFER_POOLED_MAX` transfer rows (decided on the
    transfer data alone, so a run does not change learner as its own results come in);
    beyond, its exact fit costs
    O(n^3) per round (minutes at a few thousand rows), so it is replaced by
    :class:`~metarl.learners.RGPE` with the GP's shared settings (``nu``, ``max_iter``,
    ``n_restarts``, ``target_transform``, ``random_state``): one GP per past dataset,
    fitted once, combined by how well each ranks this dataset's results. Any other learner
    (a forest, RGPE itself, a GPLearner subclass) is kept as it is.

    Returns:
        The learner to fit (unfitted), and None, or the reason it was replaced (for the
        round's record).
    """
    from metarl.learners import RGPE, GPLearner

    if type(learner) is not GPLearner or n_rows <= TRANSFER_POOLED_MAX:
        return learner, None
    params = learner.get_params()
    reason = f"rgpe: {n_rows} transfer rows > TRANSFER_POOLED_MAX = {TRANSFER_POOLED_MAX}"
    return RGPE(**{name: params[name] for name in _GP_SHARED}), reason


#: The GPLearner settings RGPE takes over when it replaces a pooled GP.
_GP_SHARED = ("nu", "max_iter", "n_restarts", "target_transform", "random_state")


def past_bests(space: SearchSpace, transfer: TransferData, direction: str = "minimize") -> Any:
    """Each past dataset's best observed config (its real result, not a prediction), as rows
    of a value matrix of ``space``, one per dataset of ``transfer`` in first-seen order
    (a dataset whose values are all NaN has none).

    The classic meta-learning initial design (Feurer, Springenberg and Hutter, 2015, "Initializing
    Bayesian hyperparameter optimization via meta-learning") evaluates these first.
    """
    sign = 1.0 if direction == "minimize" else -1.0
    rows = []
    for label in dict.fromkeys(transfer.groups.tolist()):
        idx = np.flatnonzero(transfer.groups == label)
        v = sign * transfer.y[idx]
        if np.isfinite(v).any():
            rows.append(idx[np.nanargmin(np.where(np.isfinite(v), v, np.nan))])
    if not rows:
        return np.empty((0, space.n_columns))
    return space.decode_matrix(transfer.X[rows])


def transfer_starts(
    space: SearchSpace,
    transfer: TransferData,
    learner: Any,
    n: int,
    *,
    direction: str = "minimize",
    seen: set[bytes] = frozenset(),  # type: ignore[assignment]
    target: SearchSpace | None = None,
) -> Any:
    """The past bests a round proposes before its policy's picks (``refine(past_bests=n)``).

    Of the distinct :func:`past_bests` inside ``target`` (the focus, else ``space``), the
    ``n`` that the fitted ``learner`` predicts best for this dataset (``space``'s context),
    best first; those already ``seen`` (their ``space.keys``) are dropped, not replaced,
    so the same ``n`` starts are proposed whatever the batch size.
    """
    from metarl.learners import acquisition

    M = past_bests(space, transfer, direction)
    M = M[(target if target is not None else space).contains_matrix(M)]
    keys = space.keys(M)
    first = [keys.index(key) for key in dict.fromkeys(keys)]
    M = M[first]
    if len(M):
        score = acquisition(learner, space.encode_matrix(M), "mean", 0.0, direction)
        M = M[np.argsort(-score, kind="stable")[:n]]
    fresh = [key not in seen for key in space.keys(M)]
    return M[np.asarray(fresh, dtype=bool)] if len(M) else M


def load_transfer(
    sources: Any,
    space: SearchSpace,
    *,
    metric: str = "value",
    storage: Any = None,
    rng: np.random.Generator | None = None,
    n_per_task: int = TRANSFER_SIZE,
    study_name: str | None = None,
) -> TransferData | None:
    """Load transfer data from benchmark tasks, stored studies and past runs.

    Args:
        sources: a sequence of sources, each one of: the name of another study in
            ``storage``; a CSV path or a pandas DataFrame of past runs (columns as
            :func:`metarl.metadata.load_runs` reads them, the metric as the target); a
            benchmark task or its name (``"hpolib/naval_propulsion"``: ``n_per_task``
            distinct random configs, each evaluated once, noisy). Or one
            ``(configs, values)`` pair whose configs carry their own context values.
            A mapping ``{value: source}`` (also as an item of the sequence) names the
            dataset of a study or table that does not record it (a plain Optuna study, a
            CSV without the context column): its rows take that value of the space's one
            context feature.
        space: the target search space; every source must encode to its width.
        metric: the metric to read from studies and tables.
        storage: the Optuna storage holding the studies named in ``sources``.
        rng: draws the configs and the noise of task sources, in order (the run's
            ``"transfer"`` stream of :func:`~metarl.loop.seed_streams`).
        n_per_task: configs drawn from each task source.
        study_name: the name of the study the data is for: a source naming it is refused
            (its own trials are its history; as transfer data they would count twice).

    Returns:
        The pooled data, duplicates (same config, same group) merged into the mean of their
        values, in first-seen order; None when ``sources`` is empty.

    Raises:
        ValueError: a source that is none of the above, or whose configs encode to another
            width than ``space`` (the message names it); a mapping on a space without
            exactly one context feature, a value outside it, or a benchmark task in it;
            the study ``study_name`` itself among the sources.
        metarl.metadata.RunDataError: a table or study whose runs do not match the space.
    """
    if _is_pair(sources):
        configs, values = sources
        parts = [_from_configs(space, list(configs), np.asarray(values, np.float64), "pairs")]
    else:
        items = [sources] if isinstance(sources, (str, Path, Mapping)) else list(sources or ())
        gen = rng if rng is not None else np.random.default_rng(0)
        named = _named(items, space)
        _check_not_itself([s for s, _ in named], study_name)
        parts = [_load_one(s, space, metric, storage, gen, n_per_task, ctx) for s, ctx in named]
    if not parts:
        return None
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    groups = np.concatenate([p[2] for p in parts])
    contexts = {k: v for p in parts for k, v in p[3].items()}
    return _dedupe(X, y, groups, contexts)


def _check_not_itself(sources: list[Any], study_name: str | None) -> None:
    """Refuse the study ``study_name`` itself as a source (one line), before any is read."""
    if study_name is None:
        return
    for source in sources:
        if isinstance(source, (str, Path)) and str(source) == study_name:
            raise ValueError(
                f"transfer: {study_name!r} is the study being optimised; its own trials are "
                "its history, not transfer data (remove it from transfer)"
            )


def _is_pair(sources: Any) -> bool:
    if not (isinstance(sources, tuple) and len(sources) == 2):
        return False
    first = sources[0]
    return (
        isinstance(first, Sequence)
        and not isinstance(first, str)
        and (len(first) == 0 or isinstance(first[0], Mapping))
    )


#: One source's features, values, group labels and label -> context values.
_Part = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, dict[str, Any]]]


def _named(items: list[Any], space: SearchSpace) -> list[tuple[Any, dict[str, Any] | None]]:
    """``(source, context it is given or None)`` for each item, mappings expanded."""
    out: list[tuple[Any, dict[str, Any] | None]] = []
    for item in items:
        if not isinstance(item, Mapping):
            out.append((item, None))
            continue
        if len(space.context) != 1:
            raise ValueError(
                "transfer: {value: source} names a dataset by the value of the space's one "
                f"context feature; the space has {len(space.context)}"
            )
        ((name, param),) = space.context.items()
        for value, source in item.items():
            try:
                param.from_value(value)
            except ValueError as e:
                raise ValueError(f"transfer: {value!r}: not a value of {name!r} ({e})") from None
            out.append((source, {name: value}))
    return out


def _load_one(
    source: Any,
    space: SearchSpace,
    metric: str,
    storage: Any,
    rng: np.random.Generator,
    n: int,
    context: dict[str, Any] | None = None,
) -> _Part:
    if hasattr(source, "sample_observations") and hasattr(source, "space"):
        if context is not None:
            raise ValueError(f"transfer: benchmark task {source.name!r} names its dataset itself")
        return _from_task(source, space, rng, n)
    import pandas as pd

    from metarl.metadata import load_runs

    if isinstance(source, pd.DataFrame):
        return _from_runs(load_runs(source, space, metric), space, context)
    if not isinstance(source, (str, Path)):
        raise ValueError(
            "transfer: expected a study name, a CSV path, a DataFrame or a benchmark task, "
            f"got {type(source).__name__}"
        )
    name = str(source)
    study = _find_study(name, storage)
    if study is not None:
        return _from_runs(load_runs(study, space, metric), space, context)
    if Path(name).suffix.lower() == ".csv" or Path(name).is_file():
        return _from_runs(load_runs(Path(name), space, metric), space, context)
    from metarl.benchmarks import list_tasks, load_task  # only for benchmark task names

    if name.partition(":")[0] not in list_tasks():  # a noisy variant's base is listed
        raise ValueError(
            f"transfer: {name!r} is neither a study in the storage, a CSV file nor a benchmark task"
        )
    if context is not None:
        raise ValueError(f"transfer: benchmark task {name!r} names its dataset itself")
    return _from_task(load_task(name), space, rng, n)


def _find_study(name: str, storage: Any) -> Any:
    if storage is None:
        return None
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None


def _from_task(task: Any, space: SearchSpace, rng: np.random.Generator, n: int) -> _Part:
    """``n`` distinct random configs of ``task``, each evaluated once with ``rng``."""
    M = initial_design(task.space, n, rng)
    X = task.space.encode_matrix(M)
    label = getattr(task, "name", repr(task))
    _check_width(X, space, label)
    y = np.asarray(task.sample_observations(M, rng), dtype=np.float64)
    ctx = dict(task.space.context_values)
    return X, y, np.full(len(y), context_label(ctx)), {context_label(ctx): ctx}


def _from_runs(data: Any, space: SearchSpace, context: dict[str, Any] | None = None) -> _Part:
    y = np.asarray(data.y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"transfer: {data.source}: expected one target, got {y.shape[1]}")
    ctx = data.context if space.context else [{} for _ in data.configs]
    if context is not None:  # the dataset the caller names
        ctx = [{**c, **context} for c in ctx]
    return _encode(space, data.M, ctx), y, *_labels(ctx)


def _from_configs(space: SearchSpace, configs: list[Config], y: np.ndarray, label: str) -> _Part:
    if len(configs) != len(y):
        raise ValueError(f"transfer: {len(configs)} configs but {len(y)} values")
    params = [{k: v for k, v in c.items() if k in space.params} for c in configs]
    ctx = [{**space.context_values, **{k: c[k] for k in space.context if k in c}} for c in configs]
    M = space.to_matrix(params) if configs else np.empty((0, space.n_columns))
    X = _encode(space, M, ctx)
    _check_width(X, space, label)
    return X, y, *_labels(ctx)


def _encode(space: SearchSpace, M: np.ndarray, contexts: list[dict[str, Any]]) -> np.ndarray:
    """Features of ``M`` snapped to the design grid, each row with its own context."""
    configs = space.to_configs(space.snap_to_grid(M))
    if not configs:
        return np.empty((0, space.encoded_width), dtype=np.float32)
    return space.encode([{**c, **ctx} for c, ctx in zip(configs, contexts)])


def _labels(contexts: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, dict[str, Any]]]:
    labels = [context_label(c) for c in contexts]
    return np.asarray(labels, dtype=str).reshape(len(contexts)), dict(zip(labels, contexts))


def _check_width(X: np.ndarray, space: SearchSpace, label: str) -> None:
    if X.shape[1] != space.encoded_width:
        raise ValueError(
            f"transfer: {label!r} encodes {X.shape[1]} features, the space "
            f"{space.encoded_width}; its configs do not belong to this space"
        )


def _dedupe(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, contexts: dict[str, dict[str, Any]]
) -> TransferData:
    """Merge rows with equal features and group into one row holding their mean value."""
    codes = np.unique(groups, return_inverse=True)[1].reshape(-1, 1).astype(np.float32)
    _, first, inverse = np.unique(
        np.hstack([X, codes]), axis=0, return_index=True, return_inverse=True
    )
    inverse = inverse.reshape(-1)
    if len(first) == len(y):
        return TransferData(X, y, groups, contexts)
    order = np.argsort(first, kind="stable")  # unique rows in first-seen order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    pos = rank[inverse]
    mean = np.bincount(pos, weights=y) / np.bincount(pos)
    keep = first[order]
    return TransferData(X[keep], mean, groups[keep], contexts)


def zero_shot(
    space: SearchSpace,
    transfer: TransferData,
    k: int,
    *,
    learner: Any,
    policy: Any = "exhaustive",
    direction: str = "minimize",
    metric: str = "value",
    seed: int = 0,
    focus: SearchSpace | None = None,
) -> Any:
    """A ranked portfolio of ``k`` configs for a dataset nothing was evaluated on yet.

    The round :func:`~metarl.loop.refine` runs with an empty history: the learner is fitted
    on ``transfer`` alone and the policy (the transfer defaults of
    :func:`~metarl.loop.make_search_policy`: the predicted mean) proposes the best configs
    it predicts for ``space``'s context (the new dataset), best first.

    Args:
        space: the target space, its context set to the new dataset.
        transfer: past results of other datasets (:func:`load_transfer`).
        k: the portfolio's size.
        learner, policy, direction, metric, seed, focus: as for
            :func:`~metarl.loop.refine` (``policy``: a policy or a ``make_policy`` name).

    Returns:
        The :class:`~metarl.loop.Round` (``configs`` best first, the fitted ``learner``).

    Raises:
        ValueError: no transfer data.
    """
    from metarl.loop._policy import make_search_policy
    from metarl.loop._round import History, refine

    if transfer is None or len(transfer) < 2:
        raise ValueError("zero-shot proposals need transfer data (at least 2 past results)")
    empty = History(np.empty((0, space.n_columns)), np.empty(0))
    searched = space if focus is None else focus
    built = make_search_policy(policy, searched, None, transfer=True, seed=seed)
    return refine(
        space, empty, k, learner=learner, policy=built, direction=direction,  # type: ignore[arg-type]
        transfer=transfer, metric=metric, seed=seed, focus=focus,
    )  # fmt: skip


def holdout_scores(
    space: SearchSpace,
    transfer: TransferData,
    learner: Any,
    *,
    direction: str = "minimize",
    metric: str = "value",
    ks: Sequence[int] = (1, 5, 10),
    seed: int = 0,
) -> list[dict[str, Any]]:
    """How zero-shot portfolios score on the transfer data itself, one dataset held out.

    For each dataset of ``transfer``, the learner is fitted as :func:`zero_shot` fits it on
    the other datasets only, and ranks the held-out dataset's observed configs for its
    context. A portfolio's score is the share of the held-out configs observed better than
    the best of its top ``k`` (0: the top ``k`` hold the best observed config); ``k`` random
    configs score ``((n + 1) / (k + 1) - 1) / n`` on average (``n`` configs observed).

    Returns:
        Per held-out dataset: ``dataset`` (its label), ``n`` (its configs), and per ``k``
        (at most ``n``) ``top<k>`` and ``random<k>``.
    """
    from metarl.learners import acquisition
    from metarl.loop._round import History, _fit

    empty = History(np.empty((0, space.n_columns)), np.empty(0))
    out = []
    for label in dict.fromkeys(transfer.groups.tolist()):  # first-seen order
        rows = transfer.groups == label
        if label not in transfer.contexts or rows.all():
            continue
        others = TransferData(
            transfer.X[~rows], transfer.y[~rows], transfer.groups[~rows], transfer.contexts
        )
        target = space.with_context(**transfer.contexts[label]) if space.context else space
        fitted_as = transfer_learner(learner, len(others))[0]  # as the round would fit it
        est = _fit(target, empty, fitted_as, others, metric, direction, seed, 0, 0)[0]  # type: ignore[arg-type]
        if est is None:
            continue
        score = acquisition(est, transfer.X[rows], "mean", 0.0, direction)
        v = transfer.y[rows] if direction == "minimize" else -transfer.y[rows]
        picked = v[np.argsort(-score, kind="stable")]
        n = len(v)
        rec: dict[str, Any] = {"dataset": label, "n": n}
        for k in (k for k in ks if k <= n):
            rec[f"top{k}"] = float(np.mean(v < picked[:k].min()))
            rec[f"random{k}"] = ((n + 1) / (k + 1) - 1) / n
        out.append(rec)
    return out
