"""metarl's defaults in one place, importable without torch, SB3 or Optuna."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metarl.space import SearchSpace


#: The largest design grid the ``"auto"`` policy searches exactly; beyond it, PPO.
ENUMERABLE = 10**6
#: metarl's defaults, the best it measured under PROTOCOL.md (docs/RESULTS.md): a GP
#: meta-learner refitted every evaluation, and an optimistic acquisition (UCB, kappa = 2).
DEFAULT_LEARNER = "gp"
DEFAULT_POLICY_KWARGS: dict[str, object] = {"acquisition": "ucb", "kappa": 2.0}
#: With meta-data of other datasets (transfer), exploiting the pooled prediction measured
#: better at 10-25 evaluations than exploring (docs/RESULTS.md): the predicted mean.
DEFAULT_TRANSFER_POLICY_KWARGS: dict[str, object] = {"acquisition": "mean"}


def default_policy_kwargs(name: str, transfer: bool = False) -> dict[str, object]:
    """The keyword arguments a policy given as ``name`` gets when none are given."""
    if name != "auto":
        return {}
    return dict(DEFAULT_TRANSFER_POLICY_KWARGS if transfer else DEFAULT_POLICY_KWARGS)


def resolve_policy_name(name: str, space: SearchSpace, enumerable: int = ENUMERABLE) -> str:
    """``"auto"`` -> ``"exhaustive"`` (exact argmax of the acquisition) where the design grid
    holds at most ``enumerable`` configs, else ``"ppo"``; any other name is itself."""
    if name != "auto":
        return name
    return "exhaustive" if space.cardinality <= enumerable else "ppo"
