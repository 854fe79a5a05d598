"""The plug-in environment contract: what the PPO policy passes to the environment of any
Gymnasium env id, and what it expects back.

An environment plugs into ``make_policy("ppo", env_id=...)`` when

1. its id is registered with Gymnasium (``gymnasium.register``), by a module the user
   imports first (``metarl run --import MODULE``, ``metarl compare --import MODULE``);
2. its constructor accepts every keyword of :class:`DesignEnvKwargs` (the policy passes
   them all, plus the policy's ``env_kwargs``);
3. the step that ends an episode returns the finished config in ``info["config"]``
   (:data:`CONFIG_INFO_KEY`), a dict that ``space.to_matrix`` accepts;
4. optionally, it offers ``action_masks()`` (the sb3-contrib convention): then, and only
   then, the policy trains with ``MaskablePPO``.

:func:`check_env_id` checks 1 and 2 when the policy is built, so a wrong id fails before any
trial is trained; 3 and 4 are checked where they are used.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any, TypedDict

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec, load_env_creator, parse_env_id
from gymnasium.error import NamespaceNotFound
from stable_baselines3.common.vec_env import VecEnv

from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Config, Direction


class DesignEnvKwargs(TypedDict):
    """The keywords the PPO policy passes to the environment of any env id."""

    #: the search space the configs belong to (its context values set).
    space: SearchSpace
    #: a meta-learner fitted on ``space.encode`` features.
    learner: MetaLearner
    #: whether the learner's objective is minimised or maximised.
    direction: Direction
    #: ``"mean"``, ``"ucb"`` or ``"lcb"``: the policy's acquisition, which ranks its
    #: proposals; the reward should follow ``metarl.learners.acquisition`` with it.
    #: (``"ei"`` is refused before an environment is built: no incumbent is passed.)
    acquisition: AcquisitionKind
    #: the weight of the predictive std in ``"ucb"``/``"lcb"``.
    kappa: float
    #: configs already evaluated or pending, which the episodes should avoid.
    exclude: list[Config]
    #: always ``None`` during training (SB3's ``make_vec_env`` would ask for ``"rgb_array"``).
    render_mode: str | None


#: The ``info`` key of an episode's last step that holds the finished config.
CONFIG_INFO_KEY = "config"

CONTRACT_KEYWORDS = frozenset(DesignEnvKwargs.__annotations__)

#: Old keyword names of the contract -> their new names.
RENAMED_KEYWORDS = {"reward": "acquisition"}


def renamed_reward(reward: AcquisitionKind | None, acquisition: AcquisitionKind) -> AcquisitionKind:
    """``acquisition``, or ``reward`` (its old name, deprecated) when that is given.

    A ``FutureWarning`` rather than a ``DeprecationWarning``: Python hides the latter when it
    is raised inside a library (here, under ``gymnasium.make``), and users are the ones who
    must rename the keyword, as scikit-learn does for renamed parameters.
    """
    if reward is None:
        return acquisition
    warnings.warn(
        "the design environments' keyword reward= was renamed acquisition= (as in the "
        "policies); reward= will be removed",
        FutureWarning,
        stacklevel=3,
    )
    return reward


def check_env_id(env_id: str) -> EnvSpec:
    """The registered spec of ``env_id``, once its constructor is known to take the contract.

    Raises:
        ValueError: the id, its namespace or its version is not registered; its entry point
            cannot be imported; or its constructor lacks keywords of :class:`DesignEnvKwargs`.
    """
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a registered Gymnasium env id, got {env_id!r}")
    try:
        spec = gym.spec(env_id)
    except NamespaceNotFound:
        ns = parse_env_id(env_id)[0]
        raise ValueError(
            f"env id {env_id!r}: namespace {ns!r} is not registered; import the module that "
            f"registers it (metarl run --import {ns})"
        ) from None
    except gym.error.Error as e:
        raise ValueError(f"env id {env_id!r} is not registered: {e}") from None
    creator = spec.entry_point
    if isinstance(creator, str):
        try:
            creator = load_env_creator(creator)
        except (ImportError, AttributeError) as e:
            raise ValueError(
                f"env id {env_id!r}: cannot import its entry point {spec.entry_point!r}: {e}"
            ) from e
    _check_keywords(env_id, creator)
    return spec


def _check_keywords(env_id: str, creator: Any) -> None:
    try:
        params = inspect.signature(creator).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing to inspect
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    missing = sorted(CONTRACT_KEYWORDS - set(params))
    if missing:
        renamed = [f"{old}= was renamed {new}=" for old, new in RENAMED_KEYWORDS.items()
                   if old in params and new in missing]  # fmt: skip
        hint = f" ({'; '.join(renamed)})" if renamed else ""
        raise ValueError(
            f"env id {env_id!r}: its constructor does not accept {', '.join(missing)}, which "
            f"the PPO policy passes to every environment (metarl.envs.DesignEnvKwargs){hint}"
        )


def check_env_kwargs(env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's extra environment keywords, refusing those the contract sets.

    Raises:
        ValueError: a keyword of :class:`DesignEnvKwargs` (set by the policy and
            ``propose``), or an old name of one.
    """
    extra = dict(env_kwargs or {})
    clash = sorted(set(extra) & (CONTRACT_KEYWORDS | set(RENAMED_KEYWORDS)))
    if clash:
        raise ValueError(
            f"env_kwargs may not set {', '.join(clash)}: the policy passes them to the "
            "environment (acquisition= and kappa= are the policy's own keywords; direction= "
            "and exclude= come with propose()); 'reward' is the old name of 'acquisition'"
        )
    return extra


def make_design_vec_env(
    env_id: str | None,
    n_envs: int,
    seed: int,
    kwargs: DesignEnvKwargs,
    env_kwargs: Mapping[str, Any] | None = None,
) -> VecEnv:
    """``n_envs`` environments of ``env_id`` built with the contract's keywords, as one
    SB3 ``VecEnv``; ``env_id=None`` is the built-in :class:`~metarl.envs.DesignVecEnv`
    (``metarl/Design-v0`` stepped in lockstep in numpy).

    Raises:
        ValueError: acquisition ``"ei"`` (:func:`~metarl.envs._reward.check_design_acquisition`),
            or what :func:`check_env_kwargs` and :func:`check_env_id` refuse.
    """
    from metarl.envs._reward import check_design_acquisition

    check_design_acquisition(kwargs["acquisition"], kwargs["kappa"])
    all_kwargs = {**kwargs, **check_env_kwargs(env_kwargs)}
    if env_id is None:
        from metarl.envs._vec import DesignVecEnv

        env = DesignVecEnv(n_envs=n_envs, **all_kwargs)
        env.seed(seed)
        return env
    from stable_baselines3.common.env_util import make_vec_env

    check_env_id(env_id)
    return make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=all_kwargs)


def offers_action_masks(env: VecEnv) -> bool:
    """Whether the environments of ``env`` offer ``action_masks()`` (for ``MaskablePPO``)."""
    from sb3_contrib.common.maskable.utils import is_masking_supported

    return is_masking_supported(env)
