"""Search spaces and their meta-feature encoding."""

from metarl.space._optuna import (
    config_from_optuna_params,
    config_to_optuna_params,
    from_optuna,
    to_optuna,
)
from metarl.space._params import Boolean, Categorical, Float, Integer, Param, SpaceError, Subset
from metarl.space._space import Decision, SearchSpace

__all__ = [
    "Boolean",
    "Categorical",
    "Decision",
    "Float",
    "Integer",
    "Param",
    "SearchSpace",
    "SpaceError",
    "Subset",
    "config_from_optuna_params",
    "config_to_optuna_params",
    "from_optuna",
    "to_optuna",
]
