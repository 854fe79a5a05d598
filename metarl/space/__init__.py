"""Search spaces and their meta-feature encoding."""

from metarl.space._grid import Decision
from metarl.space._numeric import Fidelity, Float, Integer
from metarl.space._optuna import (
    config_from_optuna_params,
    config_to_optuna_params,
    from_optuna,
    to_optuna,
)
from metarl.space._params import Boolean, Categorical, Param, SpaceError
from metarl.space._space import SearchSpace
from metarl.space._subset import Subset

__all__ = [
    "Boolean",
    "Categorical",
    "Decision",
    "Fidelity",
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
