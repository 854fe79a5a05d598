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
    """

    @abstractmethod
    def propose(
        self,
        space: SearchSpace,
        learner: MetaLearner | None,
        n: int,
        *,
        direction: Direction = "minimize",
        exclude: Sequence[Config] = (),
    ) -> list[Config]:
        """Return up to ``n`` distinct valid configs of ``space`` not in ``exclude``.

        ``learner`` is fitted on ``space.encode(...)`` features (model-free policies accept
        ``None``). Fewer than ``n`` come back only when the unexplored part of the space is
        smaller; a warning says so.
        """

    def reseed(self, seed: int | None) -> None:  # noqa: B027 - optional hook
        """Reset the policy's random state."""

    def save(self, path: str | Path) -> None:  # noqa: B027 - stateless by default
        """Persist the policy's learned state (no-op for stateless policies)."""

    def load(self, path: str | Path) -> SearchPolicy:
        """Restore the state written by :meth:`save`; returns ``self``."""
        return self
