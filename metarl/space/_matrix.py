"""The vectorised conversions of a search space: config dicts <-> value matrix <-> float32
features, focus membership, and fidelity settings (a mixin of ``SearchSpace``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np

from metarl.space._numeric import Fidelity
from metarl.space._params import Categorical, Param, SpaceError
from metarl.type_aliases import Config, ConfigMatrix, Value


class MatrixMixin:
    """Conversions between configs, value matrices and encodings.

    Encoding, decoding and validation use the whole domain of every parameter, so that a
    restricted space (``SearchSpace.restrict``) reads and writes exactly the configs and
    features of its parent; :meth:`contains_matrix` tells which rows lie in the focus.
    """

    params: dict[str, Param]
    context: dict[str, Param]
    context_values: dict[str, Value]
    names: list[str]
    column_slices: dict[str, slice]
    feature_slices: dict[str, slice]
    n_columns: int
    encoded_width: int

    # name -> [(parent name, parent column, allowed codes)], set by SearchSpace
    _conditions: dict[str, list[tuple[str, int, np.ndarray]]]

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

    # ------------------------------------------------------------------ configs <-> matrix
    def to_configs(self, M: ConfigMatrix) -> list[Config]:
        """Value matrix -> list of config dicts (inactive parameters are left out)."""
        M = np.asarray(M, dtype=np.float64)
        per_param: list[tuple[str, list[Any], np.ndarray]] = []
        for name, p in self.params.items():
            block = M[:, self.column_slices[name]]
            active = ~np.isnan(block[:, 0])
            if isinstance(p, Categorical):
                ch = np.empty(len(p.choices), dtype=object)
                ch[:] = p.choices
                vals = np.where(active, ch[np.nan_to_num(block[:, 0]).astype(np.int64)], None)
            else:
                vals = [p.to_value(row) if a else None for row, a in zip(block, active)]
            per_param.append((name, list(vals), active))
        configs: list[Config] = [{} for _ in range(M.shape[0])]
        # the activity, not the value, leaves a parameter out: None may be a choice
        for name, vals, active in per_param:
            for cfg, v, a in zip(configs, vals, active):
                if a:
                    cfg[name] = v
        return configs

    def to_matrix(self, configs: Sequence[Config]) -> ConfigMatrix:
        """List of config dicts -> value matrix, validating every config.

        A config may leave out an active :class:`Fidelity`: it is then at full fidelity.

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
        for i, name in enumerate(self.names):
            p = self.params[name]
            if isinstance(p, Fidelity):  # never a parent: filling it changes no activity
                missing = act[:, i] & ~given[:, i]
                M[missing, self.column_slices[name].start] = float(p.full)
                given[missing, i] = True
        bad = act != given
        if bad.any():
            r, i = map(int, np.argwhere(bad)[0])
            name = self.names[i]
            what = "missing value for active" if act[r, i] else "value given for inactive"
            raise SpaceError(f"config #{r}: {what} parameter {name!r}")
        return M

    def validate(self, config: Config) -> None:
        """Raise :class:`SpaceError` unless ``config`` is a config of this space's layout
        (whether it lies in a focus is :meth:`contains`)."""
        self.to_matrix([config])

    def keys(self, M: ConfigMatrix) -> list[bytes]:
        """A hashable key per row (for dedupe and exclusion); equal configs, equal keys."""
        M = np.where(np.isnan(M), np.inf, np.round(np.asarray(M, dtype=np.float64), 12))
        M = np.ascontiguousarray(M)
        return [row.tobytes() for row in M]

    # ------------------------------------------------------------------ focus
    def contains_matrix(self, M: ConfigMatrix) -> np.ndarray:
        """(n,) bool: which rows of a value matrix lie in the focus (all, unrestricted).

        Vectorised: one numpy operation per restricted parameter. Fidelities never count:
        a config of the focus stays in it at any fidelity.
        """
        M = np.asarray(M, dtype=np.float64)
        ok = np.ones(len(M), dtype=bool)
        for name, p in self.params.items():
            if p.restricted:
                block = M[:, self.column_slices[name]]
                active = ~np.isnan(block[:, 0])
                ok &= ~active | p.in_focus(np.nan_to_num(block))
        return ok

    def contains(self, config: Config) -> bool:
        """Whether ``config`` lies in the focus of this space.

        Raises:
            SpaceError: ``config`` is not a config of the space at all (see :meth:`validate`).
        """
        return bool(self.contains_matrix(self.to_matrix([config]))[0])

    # ------------------------------------------------------------------ fidelity
    @property
    def fidelity_names(self) -> list[str]:
        """The names of the :class:`Fidelity` parameters, in column order."""
        return [n for n, p in self.params.items() if isinstance(p, Fidelity)]

    @overload
    def at_fidelity(self, configs: ConfigMatrix, **values: float) -> ConfigMatrix: ...

    @overload
    def at_fidelity(self, configs: Sequence[Config], **values: float) -> list[Config]: ...

    def at_fidelity(
        self, configs: Sequence[Config] | ConfigMatrix, **values: float
    ) -> list[Config] | ConfigMatrix:
        """Copies of configs (dicts or a value matrix) with the named fidelities set.

        Where a conditional fidelity is inactive it stays left out (NaN in a matrix).

        Raises:
            SpaceError: a name that is not a fidelity, or a value outside its range.
        """
        for name, v in values.items():
            p = self.params.get(name)
            if not isinstance(p, Fidelity):
                raise SpaceError(
                    f"{name!r} is not a Fidelity parameter (fidelities: {self.fidelity_names})"
                )
            p.from_value(v)
        if isinstance(configs, np.ndarray):
            M = np.array(configs, dtype=np.float64)
            for name, v in values.items():
                col = self.column_slices[name].start
                M[:, col] = np.where(np.isnan(M[:, col]), np.nan, float(v))
            return M
        configs = list(configs)
        act = self.active_matrix(self.to_matrix(configs))
        pos = {n: i for i, n in enumerate(self.names)}
        out = []
        for r, cfg in enumerate(configs):
            c = dict(cfg)
            c.update({n: v for n, v in values.items() if act[r, pos[n]]})
            out.append(c)
        return out

    def at_full_fidelity(
        self, configs: Sequence[Config] | ConfigMatrix
    ) -> list[Config] | ConfigMatrix:
        """Copies of configs (dicts or a value matrix) with every fidelity at its ``full``."""
        full = {n: self.params[n].full for n in self.fidelity_names}  # type: ignore[attr-defined]
        return self.at_fidelity(configs, **full)

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
