"""Meta-learners: predict a config's metric (and its uncertainty) from its encoding.

Every learner is a scikit-learn regressor with ``predict(X, return_std=False)``; build one by
name with :func:`make_learner` (``linear``, ``forest``, ``mlp_ensemble``, ``gp``,
``ensemble``, ``auto``, ``rgpe`` for transfer across datasets, and any registered or
installed through the ``metarl.learners`` entry-point group, e.g. in a plug-in's ``pyproject.toml``:
``[project.entry-points."metarl.learners"] my_model = "my_pkg.models:MyLearner"``).

Fitted learners persist with :func:`save_learner`/:func:`load_learner`;
:mod:`metarl.learners.testing` holds the conformance suite for plug-in authors.
"""

from metarl.learners._acquisition import (
    acquisition,
    posterior_incumbent,
    predict_for_acquisition,
)
from metarl.learners._auto import AutoLearner, EnsembleLearner
from metarl.learners._base import MetaLearner, TransformedTargetLearner
from metarl.learners._device_topk import TopKResult, device_topk
from metarl.learners._evaluate import cross_val_predict, evaluate, score_predictions, top_recall
from metarl.learners._forest import ForestLearner
from metarl.learners._gp import GPLearner
from metarl.learners._linear import LinearLearner
from metarl.learners._mlp import MLPEnsembleLearner
from metarl.learners._persist import LearnerFileError, load_learner, read_metadata, save_learner
from metarl.learners._registry import (
    ENTRY_POINT_GROUP,
    available_learners,
    get_learner_class,
    make_learner,
    register_learner,
)
from metarl.learners._transfer import RGPE, clear_transfer_cache
from metarl.learners._transform import TargetTransform, group_normal_scores

__all__ = [
    "ENTRY_POINT_GROUP",
    "AutoLearner",
    "EnsembleLearner",
    "ForestLearner",
    "GPLearner",
    "LearnerFileError",
    "LinearLearner",
    "MLPEnsembleLearner",
    "MetaLearner",
    "RGPE",
    "TargetTransform",
    "TopKResult",
    "TransformedTargetLearner",
    "acquisition",
    "available_learners",
    "clear_transfer_cache",
    "cross_val_predict",
    "device_topk",
    "evaluate",
    "get_learner_class",
    "group_normal_scores",
    "load_learner",
    "make_learner",
    "posterior_incumbent",
    "predict_for_acquisition",
    "read_metadata",
    "register_learner",
    "save_learner",
    "score_predictions",
    "top_recall",
]
