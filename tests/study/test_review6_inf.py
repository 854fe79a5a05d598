"""Review 6 (Study gap): a COMPLETE trial with an infinite value written into a Study's storage
from outside (Optuna's ``add_trial``, another client) counts as a failed config, as
MetaRLSampler counts it: not fitted, never proposed again, announced once; the study runs on
(it raised scikit-learn's "Input y contains infinity" at its next round)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.space import config_to_optuna_params, to_optuna
from tests.study._small import small_study

DIVERGED = {"x": 1.0, "n": 2, "opt": "adam"}


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_an_infinite_value_added_from_outside_counts_as_a_failed_config(
    tmp_path: Path, bad: float
) -> None:
    study = small_study(f"sqlite:///{tmp_path / 's.db'}", policy="exhaustive")
    study.optimize(4)
    params = config_to_optuna_params(study.space, DIVERGED)
    dists = to_optuna(study.space)
    outside = optuna.trial.create_trial(
        params=params, distributions={k: dists[k] for k in params}, value=bad
    )
    study.optuna_study.add_trial(outside)  # e.g. another client's diverged run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the study itself announces it once
        study.optimize(11)  # several rounds read it
    trials = study.trials()
    assert len(trials) == 11
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 11
    number = trials[4].number
    assert trials[4].value == bad
    # never proposed again
    assert [t.params for t in trials].count(trials[4].params) == 1
    messages = [str(w.message) for w in caught if "not finite" in str(w.message)]
    assert len(messages) == 1, messages
    assert f"trial {number}'s value {bad}" in messages[0]
