"""A conformance suite for search policies, for plug-in authors (as Optuna's ``testing``).

Subclass :class:`PolicyTestCase` in a pytest file and implement :meth:`make_policy`::

    from metarl.agents.testing import PolicyTestCase

    class TestMyPolicy(PolicyTestCase):
        def make_policy(self, seed):
            return MyPolicy(seed=seed, budget=200)  # keep it small: the suite runs it often

Every ``test_*`` method then checks one promise of :class:`~metarl.agents.SearchPolicy`:
distinct valid proposals, nothing from ``exclude``, a warning and what exists when ``n``
exceeds the unexplored space, reproducibility under a seed, clear errors for bad input, and
(unless ``uses_acquisition = False``, for a policy that ignores the learner) proposals that
the learner's acquisition ranks above random configs. Override :meth:`make_space` /
:meth:`make_learner` to run it on your own space or learner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import pytest

from metarl.agents._base import SearchPolicy
from metarl.learners import acquisition, make_learner
from metarl.learners._base import MetaLearner
from metarl.space import Boolean, Categorical, Float, Integer, SearchSpace, Subset


def _objective(space: SearchSpace, M: np.ndarray) -> np.ndarray:
    X = space.encode_matrix(M).astype(np.float64)
    return X @ np.sin(np.arange(X.shape[1]) + 1.0)


class PolicyTestCase(ABC):
    """Checks a :class:`SearchPolicy` against the contract; subclass it in a test file."""

    #: proposals asked for in the ordinary checks
    n: int = 4
    #: whether the policy ranks its proposals by the learner's acquisition (False for a
    #: model-free policy such as random search or TPE)
    uses_acquisition: bool = True

    @abstractmethod
    def make_policy(self, seed: int | None) -> SearchPolicy:
        """A fresh policy with this seed (small budgets: the suite calls it often)."""

    def make_space(self) -> SearchSpace:
        """A small space with every kind and a condition (~2**12 configs)."""
        return SearchSpace(
            {
                "model": Categorical(["linear", "tree", "knn"]),
                "depth": Integer(1, 6, active_if={"model": ["tree"]}),
                "lr": Float(1e-4, 1e-1, log=True, bins=4),
                "scale": Boolean(),
                "features": Subset(["a", "b", "c", "d", "e"]),
            }
        )

    def make_tiny_space(self) -> SearchSpace:
        """A space of 6 configs, for the "n larger than what is left" check."""
        return SearchSpace({"x": Categorical(["a", "b", "c"]), "y": Boolean()})

    def make_learner(self, space: SearchSpace) -> MetaLearner:
        """A meta-learner fitted on 64 random configs of ``space``."""
        M = space.sample_matrix(64, seed=0)
        return make_learner("linear").fit(space.encode_matrix(M), _objective(space, M))

    def _propose(self, policy, space, n, **kw):
        learner = self.make_learner(space)
        return policy.propose(space, learner, n, history=self._history(space), **kw)

    def _history(self, space: SearchSpace) -> list:
        M = space.sample_matrix(12, seed=1)
        return list(zip(space.to_configs(M), _objective(space, M).tolist()))

    # ------------------------------------------------------------------ the checks
    def test_proposals_are_distinct_and_valid(self) -> None:
        space = self.make_space()
        configs = self._propose(self.make_policy(0), space, self.n)
        assert len(configs) == self.n
        M = space.to_matrix(configs)  # raises on an invalid config
        assert len(set(space.keys(M))) == self.n, "proposals are not distinct"

    def test_excluded_configs_are_never_proposed(self) -> None:
        space = self.make_space()
        first = self._propose(self.make_policy(0), space, self.n)
        again = self._propose(self.make_policy(0), space, self.n, exclude=first)
        assert len(again) == self.n
        taken = set(space.keys(space.to_matrix(first)))
        assert not taken & set(space.keys(space.to_matrix(again))), "proposed an excluded config"

    def test_n_beyond_the_unexplored_space_warns_and_returns_the_rest(self) -> None:
        space = self.make_tiny_space()
        exclude = [{"x": "a", "y": True}, {"x": "b", "y": False}]
        with pytest.warns(UserWarning, match="only 4"):
            configs = self._propose(self.make_policy(0), space, 10, exclude=exclude)
        keys = set(space.keys(space.to_matrix(configs)))
        assert len(configs) == len(keys) == 4
        assert not keys & set(space.keys(space.to_matrix(exclude)))

    def test_same_seed_same_proposals(self) -> None:
        space = self.make_space()
        a = self._propose(self.make_policy(7), space, self.n)
        b = self._propose(self.make_policy(7), space, self.n)
        assert a == b, "two policies with the same seed proposed differently"
        p = self.make_policy(3)
        p.reseed(7)
        assert self._propose(p, space, self.n) == a, "reseed(7) differs from seed=7"

    def test_proposals_beat_random_configs_on_the_acquisition(self) -> None:
        if not self.uses_acquisition:
            pytest.skip("the policy ignores the learner (uses_acquisition = False)")
        space = self.make_space()
        learner = self.make_learner(space)
        configs = self._propose(self.make_policy(0), space, self.n)
        random = space.snap_to_grid(space.sample_matrix(1000, seed=2))
        proposed = acquisition(learner, space.encode(configs)).mean()
        assert proposed > acquisition(learner, space.encode_matrix(random)).mean(), (
            "the proposals are no better than random configs on the learner's acquisition"
        )

    def test_bad_input_is_a_clear_error(self) -> None:
        space = self.make_space()
        policy = self.make_policy(0)
        learner = self.make_learner(space)
        with pytest.raises(ValueError, match="n must be"):
            policy.propose(space, learner, 0)
        with pytest.raises(ValueError, match="direction"):
            policy.propose(space, learner, 1, direction="up")  # type: ignore[arg-type]
        other = SearchSpace({"z": Integer(0, 3)})
        with pytest.raises(ValueError, match="different space"):
            policy.propose(other, learner, 1)
