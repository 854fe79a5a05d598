"""The small study the reliability tests build: SPACE, a forest learner, random proposals, a
thread executor, 2 initial configs and 2 per round; any keyword of ``Study`` overrides."""

from __future__ import annotations

from typing import Any

from metarl.learners import ForestLearner
from metarl.study import Study
from tests.study._trainers import SPACE, quadratic


def small_study(storage: str, trainer: Any = quadratic, **kw: Any) -> Study:
    settings: dict[str, Any] = {
        "metric": "loss",
        "study_name": "s",
        "learner": ForestLearner(n_estimators=10),
        "policy": "random",
        "executor": "thread",
        "n_init": 2,
        "batch_size": 2,
    }
    return Study(SPACE, trainer, storage=storage, **(settings | kw))
