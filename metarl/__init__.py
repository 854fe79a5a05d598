"""metarl: predict a training run's metric from its meta-features, and search with it."""

from metarl.sampler import MetaRLSampler
from metarl.space import (
    Boolean,
    Categorical,
    Float,
    Integer,
    SearchSpace,
    SpaceError,
    Subset,
)
from metarl.study import Study

__version__ = "0.1.0"

__all__ = [
    "Boolean",
    "Categorical",
    "Float",
    "Integer",
    "MetaRLSampler",
    "SearchSpace",
    "SpaceError",
    "Study",
    "Subset",
    "__version__",
]
