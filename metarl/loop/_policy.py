"""Which policy a search runs when given a name: ``"auto"`` and the measured-best defaults.

The constants live in :mod:`metarl._defaults` (importable without torch); the resolution is
here, once, for ``Study``, ``MetaRLSampler`` and ``metarl compare``.
"""

from __future__ import annotations

from typing import Any

from metarl._defaults import DEFAULT_POLICY_KWARGS, DEFAULT_TRANSFER_POLICY_KWARGS, ENUMERABLE
from metarl.space import SearchSpace

#: What ``"auto"`` adds for local search (beyond ``ENUMERABLE`` configs) without transfer
#: data or a fidelity (neither measured with it): a trust region around the best result
#: (``TrustRegion()``: initial radius half the decisions, halved after 5 results in a row
#: that do not improve). Chosen on two real-training tasks, checked on two others and run
#: on a fifth (docs/RESULTS.md, issue 11): mean rank @50 among it, the former default,
#: TPE, GP and random 2.2 on the check tasks, against 3.18 for local search on the whole
#: space.
AUTO_LOCAL_SEARCH_KWARGS: dict[str, object] = {"trust_region": True}


def default_policy_kwargs(name: str, transfer: bool = False) -> dict[str, object]:
    """The keyword arguments a policy given as ``name`` gets when none are given: for
    ``"auto"``, UCB with kappa 2, or the predicted mean with transfer data; else none."""
    if name != "auto":
        return {}
    return dict(DEFAULT_TRANSFER_POLICY_KWARGS if transfer else DEFAULT_POLICY_KWARGS)


def resolve_policy_name(name: str, space: SearchSpace, enumerable: int = ENUMERABLE) -> str:
    """``"auto"`` -> ``"exhaustive"`` (exact argmax of the acquisition) where the design grid
    holds at most ``enumerable`` configs, else ``"local_search"`` (hill climbing with
    restarts, in a trust region around the best result without transfer data:
    :data:`AUTO_LOCAL_SEARCH_KWARGS`); any other name is itself.

    Beyond the enumerable size, local search reached the best acquisition any optimizer
    found (PPO, evolution, surrogate sampling, TPE on the surrogate) on four spaces of
    2^48-2^73 configs, one of them a family no optimizer was tuned on, within about one CPU
    second, where PPO stayed below it at equal evaluations and at 30 s (docs/RESULTS.md).
    PPO remains available by name (``"ppo"``).
    """
    if name != "auto":
        return name
    return "exhaustive" if space.cardinality <= enumerable else "local_search"


def make_search_policy(
    policy: Any,
    space: SearchSpace,
    kwargs: dict[str, Any] | None = None,
    *,
    transfer: bool = False,
    enumerable: int = ENUMERABLE,
    seed: int | None = None,
) -> Any:
    """The search policy a loop runs.

    Args:
        policy: a :class:`~metarl.agents.SearchPolicy` (returned as is, not reseeded), a
            registered name, or ``"auto"`` (:func:`resolve_policy_name`: exhaustive up to
            ``enumerable`` configs, else local search, with :data:`AUTO_LOCAL_SEARCH_KWARGS`
            under ``kwargs`` unless there is transfer data or a fidelity). Either way,
            :func:`refine` reseeds it every round from the run's seed.
        space: the space it searches.
        kwargs: keyword arguments of a policy given by name, over its defaults
            (:func:`default_policy_kwargs`: for ``"auto"``, UCB with kappa 2, or the
            predicted mean with ``transfer``).
        transfer: whether the learner has transfer data of other datasets.
        enumerable: the grid size up to which ``"auto"`` searches exhaustively.
        seed: reseeds a policy built here.

    Raises:
        ValueError: an unknown policy name (the message lists the known ones).
    """
    if not isinstance(policy, str):
        return policy
    from metarl.agents import make_policy

    # "auto"'s defaults under the caller's keywords (a kappa alone keeps UCB); a policy
    # given by name gets the caller's keywords only
    kwargs = default_policy_kwargs(policy, transfer) | (kwargs or {})
    if transfer and kwargs.get("acquisition") == "ei":
        raise ValueError(
            "acquisition 'ei' improves on this study's own best result, which a round on "
            "transfer data has none of at first; use 'mean' (the transfer default) or 'ucb'"
        )
    name = resolve_policy_name(policy, space, enumerable)
    if policy == "auto" and name == "local_search" and not transfer and not space.fidelity_names:
        kwargs = AUTO_LOCAL_SEARCH_KWARGS | kwargs
    built = make_policy(name, **kwargs)
    built.reseed(seed)
    return built
