"""Past runs from an existing Optuna study (a metarl study or any other)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from metarl.metadata._cells import is_missing, to_float
from metarl.metadata._runs import (
    RunData,
    RunDataError,
    _directions,
    assemble,
    context_of,
)
from metarl.space import Categorical, SearchSpace, config_from_optuna_params, to_optuna
from metarl.study import _schema as schema
from metarl.type_aliases import Config, Direction, Value


def _open(source: optuna.Study | tuple[str, str]) -> optuna.Study:
    if isinstance(source, optuna.Study):
        return source
    url, name = source
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        raise RunDataError(f"storage {url!r}: no database file {url[len('sqlite:///') :]!r}")
    try:
        return optuna.load_study(study_name=name, storage=url)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(url)]
        raise RunDataError(f"storage {url!r}: no study {name!r} (studies: {names})") from None


def _value_index(study: optuna.Study, target: str) -> int | None:
    """Which objective of ``study`` the target names, or None for a user attribute."""
    names = study.metric_names or []
    if target in names:
        return names.index(target)
    if target == "value" or target == study.user_attrs.get(schema.METRIC):
        if len(study.directions) > 1:
            raise RunDataError(
                f"study {study.study_name!r} has {len(study.directions)} objectives; name one "
                f"of its metric_names {names} instead of {target!r}"
            )
        return 0
    return None


def _params(space: SearchSpace, trial: FrozenTrial) -> dict[str, Any]:
    """``trial.params`` in the form of :func:`to_optuna` (ordered choices as indices).

    A study not created by metarl may hold an ordered Categorical's value itself (from
    ``suggest_categorical``); it is turned into its index here.
    """
    params = dict(trial.params)
    for name, p in space.params.items():
        if name not in params or not isinstance(p, Categorical) or not p.ordered:
            continue
        if isinstance(trial.distributions.get(name), CategoricalDistribution):
            params[name] = p.index_of(params[name])
        elif not 0 <= int(params[name]) < len(p.choices):
            raise ValueError(
                f"parameter {name!r}: choice index {params[name]!r} outside "
                f"[0, {len(p.choices) - 1}]"
            )
    return params


def from_study(
    source: optuna.Study | tuple[str, str],
    space: SearchSpace,
    targets: list[str],
    direction: Direction | Sequence[Direction] | None,
    ignore: list[str],
) -> RunData:
    """The COMPLETE trials of a study as :class:`RunData` (see :func:`load_runs`)."""
    study = _open(source)
    label = f"study {study.study_name!r}"
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    known = set(to_optuna(space)) | set(ignore)
    unknown = sorted({k for t in trials for k in t.params} - known)
    if unknown:
        raise RunDataError(
            f"{label}: parameters do not match the space: unknown parameter(s) {unknown} "
            "(pass ignore=[...] to skip them)"
        )
    index = [_value_index(study, t) for t in targets]
    defaults: list[Direction] = [
        "minimize" if i is None else study.directions[i].name.lower()  # type: ignore[misc]
        for i in index
    ]
    attrs = {k for t in trials for k in t.user_attrs}
    for t, i in zip(targets, index):
        if i is None and trials and t not in attrs:
            raise RunDataError(
                f"{label}: no target {t!r}: not an objective ('value' or metric_names "
                f"{study.metric_names}) nor a user attribute of any trial (user attributes: "
                f"{sorted(a for a in attrs if not a.startswith(schema.PREFIX))})"
            )
    where = [f"trial {t.number}" for t in trials]
    configs: list[Config] = []
    contexts: list[dict[str, Value]] = []
    Y = np.empty((len(trials), len(targets)), dtype=np.float64)
    for r, trial in enumerate(trials):
        try:
            configs.append(config_from_optuna_params(space, _params(space, trial)))
        except ValueError as e:
            raise RunDataError(f"{label}: {where[r]}: {e}") from None
        contexts.append(context_of(space, trial.user_attrs))
        for j, (t, i) in enumerate(zip(targets, index)):
            v = trial.values[i] if i is not None else trial.user_attrs.get(t)
            f = np.nan if is_missing(v) else to_float(v)
            if f is None:
                raise RunDataError(f"{label}: target {t!r} is not numeric ({where[r]}: {v!r})")
            Y[r, j] = f
    if not trials:
        raise RunDataError(f"{label}: no COMPLETE trial")
    return assemble(
        space,
        configs,
        contexts,
        Y,
        targets,
        _directions(direction, targets, defaults),
        [t.number for t in trials],
        where,
        label,
    )
