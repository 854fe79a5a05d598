"""Stored trials as the loop sees them: the history of a study, and proposals enqueued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from metarl.loop import History
from metarl.space import SearchSpace, config_from_optuna_params, config_to_optuna_params, to_optuna
from metarl.type_aliases import Config

_PENDING = (TrialState.WAITING, TrialState.RUNNING)


def history_of(space: SearchSpace, trials: Sequence[FrozenTrial]) -> History:
    """The loop's :class:`~metarl.loop.History` of a study's trials: COMPLETE ones with their
    values, FAIL ones, and WAITING or RUNNING ones as pending."""
    groups: dict[str, list[Config]] = {"done": [], "failed": [], "pending": []}
    values = []
    for t in trials:
        if t.state == TrialState.COMPLETE:
            groups["done"].append(config_from_optuna_params(space, t.params))
            values.append(float(t.value))
        elif t.state == TrialState.FAIL:
            groups["failed"].append(config_from_optuna_params(space, t.params))
        elif t.state in _PENDING:
            groups["pending"].append(config_from_optuna_params(space, t.params))
    return History.from_configs(space, groups["done"], values, groups["failed"], groups["pending"])


def enqueue(
    study: optuna.Study, space: SearchSpace, configs: Sequence[Config], attrs: Mapping[str, Any]
) -> None:
    """Add each config as a WAITING trial with the user attributes ``attrs``."""
    dists = to_optuna(space)
    for cfg in configs:
        params = config_to_optuna_params(space, cfg)
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.WAITING,
                params=params,
                distributions={k: dists[k] for k in params},
                user_attrs=dict(attrs),
            )
        )
