"""Past studies and runs of other datasets for ``MetaRLSampler(transfer=...)``.

A source is one past dataset: an ``optuna.Study``, the name of a study in the same storage
as the study being optimised, or a CSV file / DataFrame of its runs (one column per
parameter and a ``value`` column; the table of ``study.trials_dataframe()`` is read as is:
``params_`` prefixes dropped, COMPLETE rows only). Each source's label is the dataset's
value of the context feature ``"dataset"`` that the sampler adds to the space it infers, so
that every round treats it as :func:`metarl.loop.load_transfer` and ``Study(transfer=...)``
do: each dataset's values ranked within the dataset, the dataset a context meta-feature.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.study import Study
from optuna.trial import TrialState

from metarl.loop import TransferData, load_transfer
from metarl.space import Categorical, SearchSpace
from metarl.type_aliases import Config

#: The context feature naming each row's dataset (``"dataset#"`` if a parameter has the name).
CONTEXT = "dataset"


@dataclass
class PastData:
    """The completed trials (or rows) of one past dataset, as Optuna params.

    Attributes:
        label: the dataset's context value.
        params: per trial, its params (``trial.params`` form).
        values: per trial, its objective value.
        distributions: name -> distribution over the trials (``{}`` for a table, whose
            distributions are unknown; names whose distribution changes are left out).
    """

    label: str
    params: list[dict[str, Any]]
    values: list[float]
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)


def check_sources(transfer: Any) -> list[tuple[str | None, Any]]:
    """``transfer`` as ``(label or None, source)`` pairs, checked for type (no I/O yet).

    Raises:
        ValueError: a source of another type, a DataFrame without a label, or a label
            given twice (the message names it).
    """
    import pandas as pd

    if transfer is None:
        return []
    if isinstance(transfer, Mapping):
        pairs = [(str(k), v) for k, v in transfer.items()]
    elif isinstance(transfer, (str, Path, Study, pd.DataFrame)):
        pairs = [(None, transfer)]
    elif isinstance(transfer, Sequence):
        pairs = [(None, v) for v in transfer]
    else:
        raise ValueError(
            "transfer: expected a mapping {dataset: source}, a list of sources or one source, "
            f"got {type(transfer).__name__}"
        )
    out: list[tuple[str | None, Any]] = []
    for label, src in pairs:
        if not isinstance(src, (str, Path, Study, pd.DataFrame)):
            raise ValueError(
                "transfer: a source is an optuna.Study, a study name, a CSV path or a "
                f"DataFrame, got {type(src).__name__}"
            )
        if label is None and isinstance(src, pd.DataFrame):
            raise ValueError("transfer: a DataFrame needs its dataset: transfer={'name': df}")
        out.append((label if label is not None else _default_label(src), src))
    labels = [label for label, _ in out]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ValueError(f"transfer: dataset {twice[0]!r} named twice; use a mapping")
    return out


def _default_label(src: Any) -> str:
    if isinstance(src, Study):
        return src.study_name
    path = Path(src)
    return path.stem if path.suffix.lower() == ".csv" else str(src)


def resolve(sources: list[tuple[str, Any]], study: Study, own: str) -> list[PastData]:
    """Read every source (studies by name from ``study``'s storage).

    Raises:
        ValueError: a name that is neither a study of the storage nor a CSV file, the
            study's own dataset among the sources, a study with another direction or
            several objectives, a table without a ``value`` column, a source without any
            completed trial.
    """
    out = []
    for label, src in sources:
        if label == own:
            raise ValueError(
                f"transfer: {label!r} is the dataset of the study optimised; pass "
                "dataset=... to name it, or another label for the past source"
            )
        past = _read(label, src, study)
        if not past.values:
            raise ValueError(f"transfer: {label!r}: no completed trial")
        out.append(past)
    return out


def _read(label: str, src: Any, study: Study) -> PastData:
    import optuna
    import pandas as pd

    if isinstance(src, pd.DataFrame):
        return _from_table(label, src)
    if isinstance(src, Study):
        return _from_study(label, src, study)
    path = Path(src)
    if isinstance(src, str) and path.suffix.lower() != ".csv":
        try:
            past = optuna.load_study(study_name=src, storage=study._storage)
        except KeyError:
            if not path.is_file():
                raise ValueError(
                    f"transfer: {src!r} is neither a study in the storage of "
                    f"{study.study_name!r} nor a CSV file"
                ) from None
        else:
            return _from_study(label, past, study)
    if not path.is_file():
        raise ValueError(f"transfer: {label!r}: no CSV file {str(path)!r}")
    return _from_table(label, pd.read_csv(path))


def _from_study(label: str, past: Study, study: Study) -> PastData:
    if len(past.directions) > 1:
        raise ValueError(f"transfer: study {past.study_name!r} has several objectives")
    if past.direction != study.direction:
        raise ValueError(
            f"transfer: study {past.study_name!r} is {past.direction.name.lower()}d, the study "
            f"optimised {study.direction.name.lower()}d: not the same metric"
        )
    done = past.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    dists: dict[str, BaseDistribution] = {}
    clash: set[str] = set()
    for t in done:
        for name, d in t.distributions.items():
            if name in dists and dists[name] != d:
                clash.add(name)
            dists.setdefault(name, d)
    dists = {k: d for k, d in dists.items() if k not in clash}
    return PastData(label, [dict(t.params) for t in done], [float(t.value) for t in done], dists)


def _from_table(label: str, df: Any) -> PastData:
    if any(str(c).startswith("params_") for c in df.columns):  # study.trials_dataframe()
        if "state" in df.columns:
            df = df[df["state"].astype(str).str.upper().str.endswith("COMPLETE")]
        df = df[["value"] + [c for c in df.columns if str(c).startswith("params_")]]
        df = df.rename(columns=lambda c: str(c)[len("params_") :] if c != "value" else c)
    if "value" not in df.columns:
        raise ValueError(f"transfer: {label!r}: no 'value' column (columns: {list(df.columns)})")
    values = np.asarray(df["value"], dtype=np.float64)
    keep = np.isfinite(values)
    params = [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items() if k != "value"}
        for row in df[keep].to_dict("records")
    ]
    params = [{k: v for k, v in p.items() if not _missing(v)} for p in params]
    return PastData(label, params, values[keep].tolist())


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def context_name(space: SearchSpace) -> str:
    return CONTEXT if CONTEXT not in space.params else f"{CONTEXT}#"


def with_datasets(space: SearchSpace, labels: Sequence[str], own: str) -> SearchSpace:
    """``space`` with the context feature naming the dataset, set to ``own``."""
    name = context_name(space)
    ctx = {name: Categorical([*labels, own], ordered=False)}
    return SearchSpace(space._params_in_input_order(), ctx, {name: own})


def transfer_data(
    space: SearchSpace, past: list[PastData], to_config: Callable[[SearchSpace, dict], Config]
) -> TransferData:
    """The past trials as :func:`load_transfer`'s ``(configs, values)`` pair, each config
    with its dataset as context; trials outside ``space`` (a value out of range, a
    parameter missing) are left out.

    Raises:
        ValueError: a source none of whose trials fits ``space`` (the message names it).
    """
    name = context_name(space)
    configs: list[Config] = []
    values: list[float] = []
    for p in past:
        n = 0
        why = ""  # the first reason a trial does not fit
        for params, value in zip(p.params, p.values):
            try:
                cfg = to_config(space, params)
                space.validate(cfg)
            except (ValueError, TypeError, KeyError) as e:
                why = why or str(e).removeprefix("config #0: ")
                continue
            configs.append({**cfg, name: p.label})
            values.append(value)
            n += 1
        if n < len(p.values):
            names = [k for k in space.names if not k.endswith("?")]
            out = len(p.values) - n
            if n == 0:
                what = f"none of its {len(p.values)} trials fits"
            else:
                verb = "does" if out == 1 else "do"
                what = f"{out} of its {len(p.values)} trials {verb} not fit"
            message = f"transfer: {p.label!r}: {what} the study's parameters {names}"
            if why:
                message += f" (first: {why})"
            if n == 0:
                raise ValueError(message)
            warnings.warn(message + "; left out", UserWarning, stacklevel=2)
    data = load_transfer((configs, values), space)
    assert data is not None  # a pair always gives data
    return data
