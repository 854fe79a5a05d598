"""Compare search policies on tabular benchmarks under one protocol (PROTOCOL.md).

``run_comparison`` runs every (policy, task, seed) in parallel and resumably, and writes
``runs.csv``, ``summary.md`` and ``regret.png``; ``run_one`` is a single run, and
``run_rounds`` its rounds (each one :func:`metarl.loop.refine`, the round a ``Study`` runs).
"""

from metarl.compare._policies import (
    DEFAULT,
    PolicySpec,
    default_policy,
    parse_policies,
    parse_policy,
)
from metarl.compare._protocol import (
    CHECKPOINTS,
    COLUMNS,
    checkpoints,
    run_one,
    run_rounds,
    sibling_tasks,
)
from metarl.compare._report import (
    count_above,
    headline_table,
    mean_rank,
    plot_regret,
    quantile_table,
    recommended_runs,
    regret_table,
    summary_markdown,
)
from metarl.compare._runner import rebuild_reports, resolve_tasks, run_comparison
from metarl.loop import TRANSFER_SIZE

__all__ = [
    "CHECKPOINTS",
    "COLUMNS",
    "DEFAULT",
    "TRANSFER_SIZE",
    "PolicySpec",
    "checkpoints",
    "count_above",
    "default_policy",
    "headline_table",
    "mean_rank",
    "parse_policies",
    "parse_policy",
    "plot_regret",
    "quantile_table",
    "rebuild_reports",
    "recommended_runs",
    "regret_table",
    "resolve_tasks",
    "run_comparison",
    "run_one",
    "run_rounds",
    "sibling_tasks",
    "summary_markdown",
]
