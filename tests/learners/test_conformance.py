"""Every built-in learner passes the shipped conformance suite (small, fast settings)."""

from metarl.learners import (
    AutoLearner,
    EnsembleLearner,
    ForestLearner,
    GPLearner,
    LinearLearner,
    MLPEnsembleLearner,
)
from metarl.learners.testing import LearnerTestCase


class TestLinear(LearnerTestCase):
    def make_learner(self):
        return LinearLearner()


class TestLinearInteractions(LearnerTestCase):
    def make_learner(self):
        return LinearLearner(interactions=True)


class TestExtraTrees(LearnerTestCase):
    def make_learner(self):
        return ForestLearner(n_estimators=20, random_state=0)


class TestRandomForest(LearnerTestCase):
    def make_learner(self):
        return ForestLearner(kind="random_forest", n_estimators=20, random_state=0)


class TestMLPEnsemble(LearnerTestCase):
    def make_learner(self):
        return MLPEnsembleLearner(n_members=3, hidden=16, epochs=60, random_state=0)


class TestGP(LearnerTestCase):
    def make_learner(self):
        return GPLearner(n_restarts=0, max_iter=30, random_state=0)


class TestEnsemble(LearnerTestCase):
    def make_learner(self):
        return EnsembleLearner(members=("linear", ForestLearner(n_estimators=10)), random_state=0)


class TestAuto(LearnerTestCase):
    def make_learner(self):
        return AutoLearner(
            candidates=("linear", ForestLearner(n_estimators=10)), cv=3, random_state=0
        )
