"""The search space: parameters, conditions, context meta-features, and the vectorised
conversions between configs, value matrices and encodings."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metarl.space._params import KINDS, Categorical, Param, SpaceError, Subset
from metarl.type_aliases import Config, ConfigMatrix, Value


@dataclass(frozen=True)
class Decision:
    """One decision of the sequential design: one column of one parameter.

    Attributes:
        param: the parameter's name.
        index: position of the parameter in ``SearchSpace.names``.
        column: column of the value matrix this decision fills.
        options: the column values offered (choice indices, bins, or 0/1).
    """

    param: str
    index: int
    column: int
    options: np.ndarray


def _param_from_dict(name: str, d: Any) -> Param:
    if not isinstance(d, Mapping):
        raise SpaceError(f"parameter {name!r}: expected a mapping with a 'type', got {d!r}")
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in KINDS:
        raise SpaceError(f"parameter {name!r}: unknown type {kind!r} (one of {sorted(KINDS)})")
    d.pop("value", None)
    try:
        if kind == "categorical":
            return Categorical(d.pop("choices", []), **d)
        if kind == "subset":
            return Subset(d.pop("items", []), **d)
        if kind == "boolean":
            return KINDS[kind](**d)
        return KINDS[kind](d.pop("low", None), d.pop("high", None), **d)
    except TypeError as e:  # unknown or missing keys
        raise SpaceError(f"parameter {name!r}: {e}") from None


class SearchSpace:
    """A space of training configurations and its meta-feature encoding.

    Args:
        params: name -> parameter (``Categorical``, ``Integer``, ``Float``, ``Boolean``,
            ``Subset``). Conditions (``active_if``) may name any earlier or later parameter;
            the space orders parameters so that parents come first.
        context: fixed per-study meta-features, name -> parameter giving its domain (e.g.
            ``{"dataset": Categorical([...]), "n_samples": Integer(1, 10**7, log=True)}``).
            They are not searched; their values are appended to every encoding so that one
            meta-learner can learn across datasets and hardware.
        context_values: the values of this study's context (see :meth:`with_context`). A
            config may also carry its own context values (pooled data from other studies).

    Encoding (``encode``): per parameter, in order, an "active" bit when the parameter is
    conditional, then its features: one-hot for an unordered Categorical, one scaled ordinal
    for an ordered (numeric) Categorical, the value scaled to [0, 1] (log where asked) for
    Integer/Float, 0/1 for a Boolean, one 0/1 bit per item for a Subset. An inactive
    parameter encodes as all zeros. Context features follow, encoded the same way.

    ``cardinality`` counts the configs on the design grid: every choice of a Categorical,
    Boolean, Subset and small Integer, and the ``bins`` of a Float or wide Integer.
    """

    def __init__(
        self,
        params: Mapping[str, Param],
        context: Mapping[str, Param] | None = None,
        context_values: Mapping[str, Value] | None = None,
    ) -> None:
        if not params:
            raise SpaceError("a search space needs at least one parameter")
        for name, p in list(params.items()) + list((context or {}).items()):
            if not isinstance(p, Param):
                raise SpaceError(f"parameter {name!r}: expected a Param, got {p!r}")
        self._input_order = list(params)
        self.params: dict[str, Param] = self._toposort(dict(params))
        self.context: dict[str, Param] = dict(context or {})
        for name, p in list(self.params.items()) + list(self.context.items()):
            p.name = name
            p.validate()  # type: ignore[attr-defined]
        for name in self.context:
            if name in self.params:
                raise SpaceError(f"context feature {name!r} is also a parameter")
            if self.context[name].active_if:
                raise SpaceError(f"context feature {name!r}: context cannot be conditional")
        self.names: list[str] = list(self.params)
        self._build_layout()
        self._build_conditions()
        self.context_values: dict[str, Value] = {}
        if context_values:
            self.context_values = self._check_context(dict(context_values))

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _toposort(params: dict[str, Param]) -> dict[str, Param]:
        for name, p in params.items():
            for parent in p.active_if:
                if parent not in params:
                    raise SpaceError(
                        f"parameter {name!r}: condition names unknown parent {parent!r}"
                    )
                if parent == name:
                    raise SpaceError(f"parameter {name!r}: condition on itself")
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str, path: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = " -> ".join(path[path.index(n) :] + [n])
                raise SpaceError(f"parameter {n!r}: cycle in conditions ({cycle})")
            state[n] = 1
            for parent in params[n].active_if:
                visit(parent, path + [n])
            state[n] = 2
            order.append(n)

        for n in params:
            visit(n, [])
        return {n: params[n] for n in order}

    def _build_layout(self) -> None:
        self.column_slices: dict[str, slice] = {}
        self.feature_slices: dict[str, slice] = {}
        self.column_names: list[str] = []
        self.feature_names: list[str] = []
        col = feat = 0
        for name, p in self.params.items():
            self.column_slices[name] = slice(col, col + p.n_columns)
            col += p.n_columns
            self.column_names += p.column_names
            width = p.encoded_width + (1 if p.active_if else 0)
            self.feature_slices[name] = slice(feat, feat + width)
            feat += width
            if p.active_if:
                self.feature_names.append(f"{name}:active")
            self.feature_names += self._feature_names(p)
        for name, p in self.context.items():
            self.feature_slices[name] = slice(feat, feat + p.encoded_width)
            feat += p.encoded_width
            self.feature_names += [f"context:{f}" for f in self._feature_names(p)]
        self.n_columns = col
        self.encoded_width = feat

    @staticmethod
    def _feature_names(p: Param) -> list[str]:
        if isinstance(p, Categorical) and not p.ordered:
            return [f"{p.name}={c}" for c in p.choices]
        return p.column_names

    def _build_conditions(self) -> None:
        # name -> [(parent name, parent column, allowed codes)]
        self._conditions: dict[str, list[tuple[str, int, np.ndarray]]] = {}
        for name, p in self.params.items():
            conds = []
            for parent, values in p.active_if.items():
                pp = self.params[parent]
                try:
                    codes = pp.condition_codes(values)
                except SpaceError as e:
                    raise SpaceError(f"parameter {name!r}: condition on {parent!r}: {e}") from None
                conds.append((parent, self.column_slices[parent].start, codes))
            self._conditions[name] = conds

    def _check_context(self, values: dict[str, Value]) -> dict[str, Value]:
        unknown = set(values) - set(self.context)
        if unknown:
            raise SpaceError(
                f"unknown context feature(s) {sorted(unknown)}; declared: {list(self.context)}"
            )
        for name, v in values.items():
            self.context[name].from_value(v)
        return values

    def with_context(self, **values: Value) -> SearchSpace:
        """A copy of this space with the study's context values set (e.g. the dataset)."""
        merged = {**self.context_values, **values}
        return SearchSpace(self._params_in_input_order(), self.context, merged)

    def _params_in_input_order(self) -> dict[str, Param]:
        return {n: self.params[n] for n in self._input_order}

    # ------------------------------------------------------------------ conditions
    @property
    def conditional(self) -> bool:
        """Whether any parameter has a condition."""
        return any(self._conditions.values())

    def active_matrix(self, M: ConfigMatrix) -> np.ndarray:
        """(n, n_params) bool: which parameters are active in each row of ``M``.

        A parameter is active when each parent is active and its value is an allowed one.
        Rows may be partial (NaN in not-yet-decided columns): those parents count inactive.
        """
        M = np.asarray(M, dtype=np.float64)
        act = np.ones((M.shape[0], len(self.names)), dtype=bool)
        pos = {n: i for i, n in enumerate(self.names)}
        for i, name in enumerate(self.names):
            for parent, col, codes in self._conditions[name]:
                act[:, i] &= act[:, pos[parent]] & np.isin(M[:, col], codes)
        return act

    def _apply_activity(self, M: ConfigMatrix) -> ConfigMatrix:
        """Set the columns of inactive parameters to NaN (in place) and return M."""
        if self.conditional:
            act = self.active_matrix(M)
            for i, name in enumerate(self.names):
                M[~act[:, i], self.column_slices[name]] = np.nan
        return M

    # ------------------------------------------------------------------ sampling
    def sample_matrix(self, n: int, seed: int | np.random.Generator | None = None) -> ConfigMatrix:
        """``n`` uniformly drawn configs as a value matrix (NaN where inactive)."""
        rng = np.random.default_rng(seed)
        M = np.empty((n, self.n_columns), dtype=np.float64)
        for name, p in self.params.items():
            M[:, self.column_slices[name]] = p.sample_columns(rng, n)
        return self._apply_activity(M)

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> list[Config]:
        """``n`` uniformly drawn configs (each parameter uniform; inactive ones left out)."""
        return self.to_configs(self.sample_matrix(n, seed))

    # ------------------------------------------------------------------ configs <-> matrix
    def to_configs(self, M: ConfigMatrix) -> list[Config]:
        """Value matrix -> list of config dicts (inactive parameters are left out)."""
        M = np.asarray(M, dtype=np.float64)
        per_param: list[tuple[str, list[Any]]] = []
        for name, p in self.params.items():
            block = M[:, self.column_slices[name]]
            active = ~np.isnan(block[:, 0])
            if isinstance(p, Categorical):
                ch = np.empty(len(p.choices), dtype=object)
                ch[:] = p.choices
                vals = np.where(active, ch[np.nan_to_num(block[:, 0]).astype(np.int64)], None)
            else:
                vals = [p.to_value(row) if a else None for row, a in zip(block, active)]
            per_param.append((name, list(vals)))
        configs: list[Config] = [{} for _ in range(M.shape[0])]
        for name, vals in per_param:
            for cfg, v in zip(configs, vals):
                if v is not None:
                    cfg[name] = v
        return configs

    def to_matrix(self, configs: Sequence[Config]) -> ConfigMatrix:
        """List of config dicts -> value matrix, validating every config.

        Raises:
            SpaceError: a missing or extra key, a value outside the space, or a value given
                for an inactive parameter (the message names the parameter).
        """
        M = np.full((len(configs), self.n_columns), np.nan, dtype=np.float64)
        allowed = set(self.params) | set(self.context)
        for r, cfg in enumerate(configs):
            if not isinstance(cfg, Mapping):
                raise SpaceError(f"config #{r}: expected a mapping, got {type(cfg).__name__}")
            extra = set(cfg) - allowed
            if extra:
                raise SpaceError(f"config #{r}: unknown parameter(s) {sorted(extra)}")
            for name, p in self.params.items():
                if name in cfg:
                    try:
                        M[r, self.column_slices[name]] = p.from_value(cfg[name])
                    except SpaceError as e:
                        raise SpaceError(f"config #{r}: {e}") from None
        act = self.active_matrix(M)
        given = np.asarray([[n in cfg for n in self.names] for cfg in configs], dtype=bool)
        given = given.reshape(len(configs), len(self.names))
        bad = act != given
        if bad.any():
            r, i = map(int, np.argwhere(bad)[0])
            name = self.names[i]
            what = "missing value for active" if act[r, i] else "value given for inactive"
            raise SpaceError(f"config #{r}: {what} parameter {name!r}")
        return M

    def validate(self, config: Config) -> None:
        """Raise :class:`SpaceError` unless ``config`` belongs to this space."""
        self.to_matrix([config])

    def keys(self, M: ConfigMatrix) -> list[bytes]:
        """A hashable key per row (for dedupe and exclusion); equal configs, equal keys."""
        M = np.where(np.isnan(M), np.inf, np.round(np.asarray(M, dtype=np.float64), 12))
        M = np.ascontiguousarray(M)
        return [row.tobytes() for row in M]

    # ------------------------------------------------------------------ encoding
    def _context_matrix(self, configs: Sequence[Config] | None, n: int) -> np.ndarray:
        C = np.empty((n, len(self.context)), dtype=np.float64)
        for j, (name, p) in enumerate(self.context.items()):
            default = self.context_values.get(name)
            if configs is None or not any(name in c for c in configs):
                if default is None:
                    raise SpaceError(f"context feature {name!r} has no value (use with_context)")
                C[:, j] = p.from_value(default)[0]
            else:
                for r, cfg in enumerate(configs):
                    v = cfg.get(name, default)
                    if v is None:
                        raise SpaceError(f"config #{r}: context feature {name!r} has no value")
                    C[r, j] = p.from_value(v)[0]
        return C

    def encode_matrix(self, M: ConfigMatrix, context: np.ndarray | None = None) -> np.ndarray:
        """Value matrix (and optional context-code matrix) -> float32 features.

        Vectorised over rows: one numpy operation per parameter, none per config.
        """
        M = np.asarray(M, dtype=np.float64)
        n = M.shape[0]
        X = np.zeros((n, self.encoded_width), dtype=np.float32)
        for name, p in self.params.items():
            block = M[:, self.column_slices[name]]
            fs = self.feature_slices[name]
            start = fs.start
            if p.active_if:
                active = ~np.isnan(block[:, 0])
                X[:, start] = active
                start += 1
                if not active.all():
                    enc = p.encode_columns(np.where(np.isnan(block), p.grid()[0], block))
                    X[:, start : fs.stop] = np.where(active[:, None], enc, 0.0)
                    continue
            X[:, start : fs.stop] = p.encode_columns(block)
        if self.context:
            if context is None:
                context = self._context_matrix(None, n)
            for j, (name, p) in enumerate(self.context.items()):
                X[:, self.feature_slices[name]] = p.encode_columns(context[:, j : j + 1])
        return X

    def encode(self, configs: Sequence[Config] | ConfigMatrix) -> np.ndarray:
        """Configs (dicts, validated) or a value matrix -> float32 feature matrix."""
        if isinstance(configs, np.ndarray):
            return self.encode_matrix(configs)
        configs = list(configs)
        ctx = self._context_matrix(configs, len(configs)) if self.context else None
        return self.encode_matrix(self.to_matrix(configs), ctx)

    def decode_matrix(self, X: np.ndarray) -> ConfigMatrix:
        """Features -> value matrix (nearest valid values; activity from the decoded parents)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.encoded_width:
            raise SpaceError(
                f"cannot decode a matrix of shape {X.shape}: this space encodes "
                f"{self.encoded_width} features"
            )
        M = np.empty((X.shape[0], self.n_columns), dtype=np.float64)
        for name, p in self.params.items():
            fs = self.feature_slices[name]
            start = fs.start + (1 if p.active_if else 0)
            M[:, self.column_slices[name]] = p.decode_columns(X[:, start : fs.stop])
        return self._apply_activity(M)

    def decode(self, X: np.ndarray) -> list[Config]:
        """Features -> list of configs (inverse of :meth:`encode` on its image)."""
        return self.to_configs(self.decode_matrix(X))

    # ------------------------------------------------------------------ design grid
    @property
    def decisions(self) -> list[Decision]:
        """The sequential decisions of the design: one per column, parents first."""
        out = []
        for i, (name, p) in enumerate(self.params.items()):
            grid = p.grid()
            for c in range(self.column_slices[name].start, self.column_slices[name].stop):
                out.append(Decision(name, i, c, grid))
        return out

    def snap_to_grid(self, M: ConfigMatrix) -> ConfigMatrix:
        """Round every value to the nearest value of its parameter's design grid."""
        M = np.array(M, dtype=np.float64)
        for name, p in self.params.items():
            sl = self.column_slices[name]
            g = p.grid()
            block = M[:, sl]
            idx = np.abs(np.nan_to_num(block)[..., None] - g).argmin(axis=-1)
            M[:, sl] = np.where(np.isnan(block), np.nan, g[idx])
        return M

    def _parent_combos(self) -> tuple[list[str], np.ndarray]:
        """Distinct value combinations of the parameters that condition others."""
        parents = [n for n in self.names if any(n in self.params[c].active_if for c in self.names)]
        if not parents:
            return [], np.zeros((1, self.n_columns))
        grids = [self.params[n].grid() for n in parents]
        combos = np.asarray(list(itertools.product(*grids)), dtype=np.float64)
        M = np.zeros((len(combos), self.n_columns))
        for j, n in enumerate(parents):
            M[:, self.column_slices[n].start] = combos[:, j]
        M = self._apply_activity(M)
        cols = [self.column_slices[n].start for n in parents]
        _, first = np.unique(np.nan_to_num(M[:, cols], nan=-1.0), axis=0, return_index=True)
        return parents, M[np.sort(first)]

    @property
    def cardinality(self) -> int:
        """Exact number of distinct configs on the design grid (a Python int)."""
        parents, combos = self._parent_combos()
        total = 0
        act = self.active_matrix(combos)
        for r in range(len(combos)):
            count = 1
            for i, n in enumerate(self.names):
                if n not in parents and act[r, i]:
                    count *= self.params[n].cardinality
            total += count
        return total

    def enumerate(
        self, chunk_size: int = 65536, max_configs: int = 10**8
    ) -> Iterator[ConfigMatrix]:
        """Every config of the design grid, as value matrices of at most ``chunk_size`` rows.

        Raises:
            SpaceError: when the space holds more than ``max_configs`` configs.
        """
        if self.cardinality > max_configs:
            raise SpaceError(
                f"the space holds {self.cardinality} configs, more than max_configs={max_configs}; "
                "use sampling or a policy instead of enumeration"
            )
        parents, combos = self._parent_combos()
        act = self.active_matrix(combos)
        for r in range(len(combos)):
            leaves = [n for i, n in enumerate(self.names) if n not in parents and act[r, i]]
            cols = [
                c
                for n in leaves
                for c in range(self.column_slices[n].start, self.column_slices[n].stop)
            ]
            grids = [self.params[n].grid() for n in leaves for _ in range(self.params[n].n_columns)]
            radix = np.asarray([len(g) for g in grids], dtype=np.int64)
            total = int(np.prod(radix)) if len(radix) else 1
            for start in range(0, total, chunk_size):
                idx = np.arange(start, min(start + chunk_size, total), dtype=np.int64)
                M = np.repeat(combos[r : r + 1], len(idx), axis=0)
                for j in range(len(cols) - 1, -1, -1):  # mixed radix, last column fastest
                    M[:, cols[j]] = grids[j][idx % radix[j]]
                    idx //= radix[j]
                M = self._drop_small_subsets(M, leaves)
                if len(M):
                    yield M

    def _drop_small_subsets(self, M: ConfigMatrix, names: list[str]) -> ConfigMatrix:
        keep = np.ones(len(M), dtype=bool)
        for n in names:
            p = self.params[n]
            if isinstance(p, Subset) and p.min_size > 0:
                keep &= M[:, self.column_slices[n]].sum(axis=1) >= p.min_size
        return M[keep]

    # ------------------------------------------------------------------ dict / YAML
    def to_dict(self) -> dict[str, Any]:
        """The dict form ``{name: {type: ..., ...}}``; with context, ``{params:, context:}``."""
        params = {n: p.to_dict() for n, p in self._params_in_input_order().items()}
        if not self.context:
            return params
        ctx = {}
        for n, p in self.context.items():
            ctx[n] = p.to_dict()
            if n in self.context_values:
                ctx[n]["value"] = self.context_values[n]
        return {"params": params, "context": ctx}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchSpace:
        """Build a space from its dict form (see :meth:`to_dict`)."""
        if not isinstance(d, Mapping):
            raise SpaceError(f"a search space must be a mapping, got {type(d).__name__}")
        if "params" in d and isinstance(d["params"], Mapping) and set(d) <= {"params", "context"}:
            ctx_d = dict(d.get("context") or {})
            params = {str(n): _param_from_dict(str(n), v) for n, v in d["params"].items()}
            context = {str(n): _param_from_dict(str(n), v) for n, v in ctx_d.items()}
            values = {
                n: v["value"] for n, v in ctx_d.items() if isinstance(v, Mapping) and "value" in v
            }
            return cls(params, context, values)
        return cls({str(n): _param_from_dict(str(n), v) for n, v in d.items()})

    @classmethod
    def from_yaml(cls, path: str | Path) -> SearchSpace:
        """Read a space from a YAML file in the dict form."""
        import yaml

        try:
            d = yaml.safe_load(Path(path).read_text())
        except yaml.YAMLError as e:
            raise SpaceError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None
        except OSError as e:
            raise SpaceError(f"{path}: cannot read: {e.strerror}") from None
        try:
            return cls.from_dict(d)
        except SpaceError as e:
            raise SpaceError(f"{path}: {e}") from None

    def to_yaml(self, path: str | Path) -> None:
        import yaml

        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    # ------------------------------------------------------------------ misc
    def fingerprint(self) -> str:
        """A short stable hash of the space's definition (to refuse mismatched files)."""
        import hashlib
        import json

        body = json.dumps(
            {n: p.to_dict() for n, p in self.params.items()}, sort_keys=True, default=str
        )
        body += json.dumps(
            {n: p.to_dict() for n, p in self.context.items()}, sort_keys=True, default=str
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {p!r}" for n, p in self.params.items())
        ctx = f", context={self.context!r}" if self.context else ""
        return f"SearchSpace({{{inner}}}{ctx})"

    @property
    def log2_cardinality(self) -> float:
        return math.log2(self.cardinality)
