"""Search policies: a fitted meta-learner in, proposals out (PPO and the baselines)."""

from metarl._defaults import (
    DEFAULT_LEARNER,
    DEFAULT_POLICY_KWARGS,
    DEFAULT_TRANSFER_POLICY_KWARGS,
    ENUMERABLE,
    default_policy_kwargs,
    resolve_policy_name,
)
from metarl.agents._acquisition import TopK, acquisition, select_top
from metarl.agents._base import SearchPolicy
from metarl.agents._evolution import RegularizedEvolution, mutate
from metarl.agents._registry import (
    available_policies,
    make_policy,
    make_policy_for,
    register_policy,
)
from metarl.agents._sampling import (
    Exhaustive,
    GridSampler,
    RandomPolicy,
    SurrogateSampling,
    sample_grid,
)
from metarl.agents._scored import Problem, ScoredPolicy

__all__ = [
    "DEFAULT_LEARNER",
    "DEFAULT_POLICY_KWARGS",
    "DEFAULT_TRANSFER_POLICY_KWARGS",
    "ENUMERABLE",
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
    "default_policy_kwargs",
    "make_policy",
    "make_policy_for",
    "mutate",
    "register_policy",
    "resolve_policy_name",
    "sample_grid",
    "select_top",
]
