"""Search policies: a fitted meta-learner in, proposals out (PPO and the baselines).

Build one by name with :func:`make_policy` (``"exhaustive"``, ``"surrogate_sampling"``,
``"evolution"``, ``"local_search"``, ``"random"``, ``"tpe"``, ``"gp"``, ``"ppo"`` and whatever
is registered).
Write your own by subclassing :class:`SearchPolicy`, or :class:`ScoredPolicy` (generate
scored candidates from a :class:`Problem`; the base picks distinct, non-excluded proposals),
name it with :func:`register_policy` or the ``metarl.policies`` entry-point group, and check
it with :class:`PolicyTestCase` (in :mod:`metarl.agents.testing`).

:class:`PPOPolicy`, :class:`TPEPolicy` and :class:`GPPolicy` are imported on first access, so
that importing this package imports neither torch nor stable-baselines3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from metarl.agents._base import SearchPolicy
from metarl.agents._evolution import RegularizedEvolution
from metarl.agents._local import LocalSearch, neighbours
from metarl.agents._registry import (
    ENTRY_POINT_GROUP,
    available_policies,
    get_policy_class,
    make_policy,
    register_policy,
)
from metarl.agents._sampling import Exhaustive, RandomPolicy, SurrogateSampling, sample_grid
from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._trust import TrustRegion
from metarl.learners import acquisition

if TYPE_CHECKING:
    from metarl.agents._optuna import GPPolicy, TPEPolicy
    from metarl.agents._ppo import PPOPolicy
    from metarl.agents.testing import PolicyTestCase

# name -> module; imported on first access (torch, SB3, Optuna's samplers, pytest)
_LAZY = {
    "PPOPolicy": "metarl.agents._ppo",
    "TPEPolicy": "metarl.agents._optuna",
    "GPPolicy": "metarl.agents._optuna",
    "PolicyTestCase": "metarl.agents.testing",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later accesses skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ENTRY_POINT_GROUP",
    "Exhaustive",
    "GPPolicy",
    "LocalSearch",
    "TrustRegion",
    "PPOPolicy",
    "PolicyTestCase",
    "Problem",
    "RandomPolicy",
    "RegularizedEvolution",
    "ScoredPolicy",
    "SearchPolicy",
    "SurrogateSampling",
    "TPEPolicy",
    "acquisition",
    "available_policies",
    "get_policy_class",
    "make_policy",
    "neighbours",
    "register_policy",
    "sample_grid",
]
