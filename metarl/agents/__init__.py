"""Search policies: a fitted meta-learner in, proposals out (PPO and the baselines)."""

from metarl.agents._acquisition import TopK, acquisition, select_top
from metarl.agents._base import SearchPolicy
from metarl.agents._evolution import RegularizedEvolution, mutate
from metarl.agents._registry import available_policies, make_policy, register_policy
from metarl.agents._sampling import (
    Exhaustive,
    GridSampler,
    RandomPolicy,
    SurrogateSampling,
    sample_grid,
)
from metarl.agents._scored import Problem, ScoredPolicy

__all__ = [
    "Exhaustive",
    "GridSampler",
    "Problem",
    "RandomPolicy",
    "RegularizedEvolution",
    "ScoredPolicy",
    "SearchPolicy",
    "SurrogateSampling",
    "TopK",
    "acquisition",
    "available_policies",
    "make_policy",
    "mutate",
    "register_policy",
    "sample_grid",
    "select_top",
]
