"""The search-policy contract: a fitted meta-learner in, distinct proposals out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import Config, Direction


class SearchPolicy(ABC):
    """Base of every search policy (random, evolution, exhaustive, PPO, ...).

    A policy turns a fitted meta-learner (and what has been evaluated) into proposals. The
    history lives in the store, not in the policy; a policy that learns (PPO) keeps only its
    own parameters between rounds, so that the next round fine-tunes rather than restarts.

    Subclasses implement :meth:`propose`; those with random state override :meth:`reseed`,
    those that learn override :meth:`save` and :meth:`load`. Every hyperparameter is an
    explicit keyword of ``__init__`` so that ``make_policy(name, **kwargs)`` can build it.
    """

    #: Whether :meth:`propose` needs a fitted learner (False: model-free, ``learner=None`` ok).
    requires_learner: bool = True

    @abstractmethod
    def propose(
        self,
        space: SearchSpace,
        learner: MetaLearner | None,
        n: int,
        *,
        direction: Direction = "minimize",
        exclude: Sequence[Config] = (),
        history: Sequence[tuple[Config, float]] = (),
    ) -> list[Config]:
        """Return up to ``n`` distinct valid configs of ``space`` not in ``exclude``.

        Args:
            space: the space to propose from.
            learner: a meta-learner fitted on ``space.encode(...)`` features (model-free
                policies accept ``None``).
            n: how many configs to propose.
            direction: whether the learner's (first) target is minimised or maximised.
            exclude: configs already evaluated or pending; none of them is proposed.
            history: evaluated ``(config, value)`` pairs, for policies that learn from
                observations directly (TPE, GP, model-free evolution); others ignore it.

        Returns:
            ``n`` configs, best first where the policy ranks them. Fewer come back only when
            the unexplored part of the space is smaller; a ``UserWarning`` says so.

        Raises:
            ValueError: ``n < 1``, a bad ``direction``, a missing or unfitted learner, or a
                learner fitted on a different space (feature width mismatch).
        """

    def reseed(self, seed: int | None) -> None:  # noqa: B027 - optional hook
        """Reset the policy's random state."""

    def save(self, path: str | Path) -> None:  # noqa: B027 - stateless by default
        """Persist the policy's learned state (no-op for stateless policies)."""

    def load(self, path: str | Path) -> SearchPolicy:
        """Restore the state written by :meth:`save`; returns ``self``."""
        return self
