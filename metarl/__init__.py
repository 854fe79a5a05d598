"""metarl: predict a training run's metric from its meta-features, and search with it."""

from metarl.space import (
    Boolean,
    Categorical,
    Float,
    Integer,
    SearchSpace,
    SpaceError,
    Subset,
)

__version__ = "0.1.0"

__all__ = [
    "Boolean",
    "Categorical",
    "Float",
    "Integer",
    "SearchSpace",
    "SpaceError",
    "Subset",
    "__version__",
]
