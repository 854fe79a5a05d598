"""Past runs (a CSV file, a DataFrame, an Optuna study) -> configs, features and targets.

A table holds one row per run: a column per parameter (empty cell: the parameter was
inactive), a Subset either as one column (``a|b|c``, or a list literal such as
``('a', 'b')``) or as one 0/1 column per item named ``name[item]``, a column per context
feature of the space (e.g. ``dataset``; optional when the space sets its value), and the
target column(s). Other columns are allowed when they are numeric (metrics such as
``train_time``) or named in ``ignore``; any other column is refused, so that a misspelt
parameter does not go unnoticed.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from metarl.metadata._cells import MISSING, is_missing, parse_column, to_bool, to_float
from metarl.space import (
    SearchSpace,
    SpaceError,
    Subset,
)
from metarl.study._schema import CONTEXT
from metarl.type_aliases import Config, ConfigMatrix, Direction, Value

if TYPE_CHECKING:
    import optuna
    import pandas as pd

#: Where past runs can come from: a CSV path, a DataFrame, an Optuna study, or
#: ``(storage_url, study_name)``.
RunSource = Union[str, Path, "pd.DataFrame", "optuna.Study", tuple[str, str]]


class RunDataError(ValueError):
    """Past runs that do not match the search space or the requested targets."""


@dataclass
class RunData:
    """Past runs of one search space, ready to train a meta-learner.

    Attributes:
        configs: one config per run (search parameters only; inactive ones left out).
        context: per run, its context meta-features (e.g. ``{"dataset": "protein"}``);
            empty dicts when the space declares no context.
        M: ``(n, space.n_columns)`` value matrix of ``configs``.
        X: ``(n, space.encoded_width)`` float32 features, context included.
        y: float64 targets, ``(n,)`` for one target, ``(n, k)`` for ``k`` targets.
        target_names: the ``k`` target names.
        directions: per target, ``"minimize"`` or ``"maximize"``.
        rows: per run, where it came from (row label of a table, trial number of a study).
        source: a short description of the source, for messages.
    """

    configs: list[Config]
    context: list[dict[str, Value]]
    M: ConfigMatrix
    X: np.ndarray
    y: np.ndarray
    target_names: list[str]
    directions: list[Direction]
    rows: list[Any]
    source: str

    def __len__(self) -> int:
        return len(self.configs)

    @property
    def direction(self) -> Direction:
        """The direction of the first target (the one a search policy optimises)."""
        return self.directions[0]

    def full_configs(self) -> list[Config]:
        """Configs with their context values merged in (as ``space.encode`` takes them)."""
        return [{**c, **ctx} for c, ctx in zip(self.configs, self.context)]


# ---------------------------------------------------------------------- public entry point
def load_runs(
    source: RunSource,
    space: SearchSpace,
    target: str | Sequence[str],
    *,
    direction: Direction | Sequence[Direction] | None = None,
    ignore: Sequence[str] = (),
) -> RunData:
    """Read past runs of ``space`` and their target metric(s).

    Args:
        source: a CSV path, a pandas DataFrame, an ``optuna.Study``, or
            ``(storage_url, study_name)``. Of a study only COMPLETE trials are read.
        space: the search space the runs belong to; every run is validated against it.
        target: the metric(s) to predict: table column(s); for a study ``"value"`` (the
            objective), one of ``study.metric_names``, the metarl study's metric, or a trial
            user attribute. Several targets give a 2-D ``y``.
        direction: per target (or one for all), ``"minimize"`` or ``"maximize"``. Default:
            a study's own direction for its objective(s), else ``"minimize"``.
        ignore: table columns or study parameters to skip.

    Returns:
        The runs. Runs whose target is empty or not finite (failed runs) are left out with
        a ``UserWarning``.

    Raises:
        RunDataError: columns that do not match the space (missing and unknown ones named),
            a target that is missing or not numeric, a run outside the space (its row and
            parameter named), or no usable run.
    """
    if not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a SearchSpace, got {type(space).__name__}")
    targets = [target] if isinstance(target, str) else list(target)
    if not targets or not all(isinstance(t, str) and t for t in targets):
        raise RunDataError(f"target must be a column name or a list of them, got {target!r}")
    if len(set(targets)) != len(targets):
        raise RunDataError(f"target names repeat: {targets}")
    ignore = [str(c) for c in ([ignore] if isinstance(ignore, str) else ignore)]
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return _from_frame(source, space, targets, direction, ignore, "DataFrame", _row_label)
    if isinstance(source, (str, Path)):
        df = _read_csv(Path(source))
        return _from_frame(df, space, targets, direction, ignore, str(source), _line_label)
    from metarl.metadata._study import from_study

    if isinstance(source, tuple) and len(source) == 2 and all(isinstance(s, str) for s in source):
        return from_study(source, space, targets, direction, ignore)
    import optuna

    if isinstance(source, optuna.Study):
        return from_study(source, space, targets, direction, ignore)
    raise TypeError(
        "source must be a CSV path, a pandas DataFrame, an optuna.Study or "
        f"(storage_url, study_name), got {type(source).__name__}"
    )


def _row_label(i: int, label: Any) -> str:
    return f"row {label!r}"


def _line_label(i: int, label: Any) -> str:
    return f"line {i + 2}"  # the header is line 1


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        # every cell as text, so that parsing follows the space and not pandas' guesses
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except OSError as e:
        raise RunDataError(f"{path}: cannot read: {e.strerror or e}") from None
    except pd.errors.EmptyDataError:
        raise RunDataError(f"{path}: empty file, no header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise RunDataError(
            f"{path}: not a valid CSV file: {str(e).strip().splitlines()[0]}"
        ) from None


# ---------------------------------------------------------------------- tables
def _subset_item_columns(space: SearchSpace) -> dict[str, str]:
    """``"name[item]"`` column -> Subset name."""
    return {
        c: name for name, p in space.params.items() if isinstance(p, Subset) for c in p.column_names
    }


def _layout(
    cols: list[str], space: SearchSpace, targets: list[str], ignore: list[str], df: pd.DataFrame
) -> dict[str, str | list[str]]:
    """Parameter or context name -> its column (or item columns); refuses mismatches."""
    item_cols = _subset_item_columns(space)
    layout: dict[str, str | list[str]] = {}
    missing: list[str] = []
    for name, p in space.params.items():
        if name in cols:
            layout[name] = name
        elif isinstance(p, Subset) and any(c in cols for c in p.column_names):
            absent = [c for c in p.column_names if c not in cols]
            missing += absent
            layout[name] = p.column_names
        else:
            missing.append(name)
    for name in space.context:
        if name in cols:
            layout[name] = name
        elif name not in space.context_values:
            missing.append(name)
    known = set(layout) | set(item_cols) | set(targets) | set(ignore)
    subset_names = {n for n, p in space.params.items() if isinstance(p, Subset)}
    extra = [c for c in cols if c not in known]
    unknown = [c for c in extra if c.split("[", 1)[0] in subset_names or not _numeric(df[c])]
    metrics = [c for c in extra if c not in unknown]  # numeric: metrics such as train_time
    if missing or unknown:
        parts = []
        if missing:
            # a metric-looking column may be the missing parameter under another name
            hint = f" (other numeric columns: {metrics})" if metrics else ""
            parts.append(f"missing column(s) {missing}{hint}")
        if unknown:
            parts.append(
                f"unknown column(s) {unknown} (not a parameter, context feature, target or "
                "numeric metric; pass ignore=[...] to skip them)"
            )
        raise RunDataError("columns do not match the space: " + "; ".join(parts))
    return layout


def _numeric(series: pd.Series) -> bool:
    return all(is_missing(v) or to_float(v) is not None for v in series.tolist())


def _from_frame(
    df: pd.DataFrame,
    space: SearchSpace,
    targets: list[str],
    direction: Direction | Sequence[Direction] | None,
    ignore: list[str],
    source: str,
    label: Callable[[int, Any], str],
) -> RunData:
    cols = [str(c) for c in df.columns]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise RunDataError(f"{source}: repeated column(s) {dupes}")
    df = df.set_axis(cols, axis=1)
    labels = list(df.index)
    where = [label(i, lab) for i, lab in enumerate(labels)]
    for t in targets:
        if t not in cols:
            raise RunDataError(f"{source}: no target column {t!r} (columns: {cols})")
    try:
        layout = _layout(cols, space, targets, ignore, df)
    except RunDataError as e:
        raise RunDataError(f"{source}: {e}") from None
    Y = np.column_stack([_target_column(df[t].tolist(), t, where, source) for t in targets])
    n = len(df)
    configs: list[Config] = [{} for _ in range(n)]
    contexts: list[dict[str, Value]] = [{} for _ in range(n)]
    for name, col in layout.items():
        p = space.params.get(name) or space.context[name]
        out = contexts if name in space.context else configs
        if isinstance(col, list):
            values = _items_to_subsets(df[col], p, where, source)  # type: ignore[arg-type]
        else:
            try:
                values = parse_column(p, df[col].tolist(), where)
            except ValueError as e:
                raise RunDataError(f"{source}: {e}") from None
        for d, v in zip(out, values):
            if v is not MISSING:
                d[name] = v
    return assemble(
        space, configs, contexts, Y, targets, _directions(direction, targets), labels, where, source
    )


def _target_column(values: list[Any], name: str, where: list[str], source: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for r, v in enumerate(values):
        f = np.nan if is_missing(v) else to_float(v)
        if f is None:
            raise RunDataError(
                f"{source}: target column {name!r} is not numeric ({where[r]}: {v!r})"
            )
        out[r] = f
    return out


def _items_to_subsets(block: pd.DataFrame, p: Subset, where: list[str], source: str) -> list[Any]:
    out: list[Any] = []
    for r, row in enumerate(block.itertuples(index=False)):
        empty = [is_missing(v) for v in row]
        if all(empty):
            out.append(MISSING)
            continue
        chosen = []
        for col, v, e in zip(block.columns, row, empty):
            b = None if e else to_bool(v)
            if b is None:
                what = "empty" if e else f"{v!r}, not 0/1"
                raise RunDataError(
                    f"{source}: {where[r]}: column {col!r} is {what} "
                    f"(item columns of {p.name!r} must all hold 0/1, or all be empty)"
                )
            if b:
                chosen.append(p.items[p.column_names.index(col)])
        out.append(tuple(chosen))
    return out


def _directions(
    direction: Direction | Sequence[Direction] | None,
    targets: list[str],
    defaults: Sequence[Direction] | None = None,
) -> list[Direction]:
    if direction is None:
        return list(defaults) if defaults is not None else ["minimize"] * len(targets)
    dirs = [direction] * len(targets) if isinstance(direction, str) else list(direction)
    if len(dirs) != len(targets):
        raise RunDataError(f"{len(dirs)} direction(s) given for {len(targets)} target(s)")
    for d in dirs:
        if d not in ("minimize", "maximize"):
            raise RunDataError(f"direction must be 'minimize' or 'maximize', got {d!r}")
    return dirs  # type: ignore[return-value]


# ---------------------------------------------------------------------- validation
_CONFIG_ROW = re.compile(r"^config #(\d+): (.*)$", re.S)


def assemble(
    space: SearchSpace,
    configs: list[Config],
    contexts: list[dict[str, Value]],
    Y: np.ndarray,
    targets: list[str],
    directions: list[Direction],
    rows: list[Any],
    where: list[str],
    source: str,
) -> RunData:
    """Drop runs without a finite target, validate the rest against ``space``, encode them."""
    finite = np.isfinite(Y).all(axis=1)
    if not finite.all():
        first = where[int(np.flatnonzero(~finite)[0])]
        warnings.warn(
            f"{source}: skipped {int((~finite).sum())} run(s) without a finite {targets} "
            f"(first: {first})",
            UserWarning,
            stacklevel=3,
        )
        keep = np.flatnonzero(finite)
        configs = [configs[i] for i in keep]
        contexts = [contexts[i] for i in keep]
        rows = [rows[i] for i in keep]
        where = [where[i] for i in keep]
        Y = Y[keep]
    if len(configs) == 0:
        raise RunDataError(f"{source}: no run with a finite value of {targets}")
    try:
        M = space.to_matrix(configs)
    except SpaceError as e:
        m = _CONFIG_ROW.match(str(e))
        msg = f"{where[int(m.group(1))]}: {m.group(2)}" if m else str(e)
        raise RunDataError(f"{source}: {msg}") from None
    C = _context_codes(space, contexts, where, source)
    X = space.encode_matrix(M, C) if space.context else space.encode_matrix(M)
    return RunData(
        configs=space.to_configs(M),
        context=[{**space.context_values, **ctx} for ctx in contexts]
        if space.context
        else contexts,
        M=M,
        X=X,
        y=Y[:, 0].copy() if Y.shape[1] == 1 else Y,
        target_names=list(targets),
        directions=directions,
        rows=rows,
        source=source,
    )


def _context_codes(
    space: SearchSpace, contexts: list[dict[str, Value]], where: list[str], source: str
) -> np.ndarray:
    C = np.empty((len(contexts), len(space.context)), dtype=np.float64)
    for j, (name, p) in enumerate(space.context.items()):
        default = space.context_values.get(name, MISSING)
        for r, ctx in enumerate(contexts):
            v = ctx.get(name, default)
            if v is MISSING:
                raise RunDataError(
                    f"{source}: {where[r]}: no value for context feature {name!r} (give it a "
                    "column, or set its value in the space)"
                )
            try:
                C[r, j] = p.from_value(v)[0]
            except SpaceError as e:
                raise RunDataError(f"{source}: {where[r]}: {e}") from None
    return C


def context_of(space: SearchSpace, attrs: Mapping[str, Any]) -> dict[str, Value]:
    """The context values a trial's context user attribute holds for ``space``."""
    ctx = attrs.get(CONTEXT) or {}
    return {k: v for k, v in ctx.items() if k in space.context} if isinstance(ctx, Mapping) else {}
