"""Params written by others (Optuna's ``enqueue_trial``) read into configs of a space."""

from __future__ import annotations

import pytest

from metarl.space import Categorical, Float, SearchSpace


def test_an_enqueued_index_that_is_also_a_choice_value_warns() -> None:
    import warnings

    from metarl.space._optuna import checked_config_from_optuna_params

    space = SearchSpace({"bs": Categorical([1, 2, 4]), "x": Float(0.0, 1.0)})
    with pytest.warns(UserWarning, match=r"'bs': 2 is read as the index of the choice 4"):
        assert checked_config_from_optuna_params(space, {"bs": 2, "x": 0.5})["bs"] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # index 0 is no choice value: unambiguous
        assert checked_config_from_optuna_params(space, {"bs": 0, "x": 0.5})["bs"] == 1
