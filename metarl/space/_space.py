"""The search space: parameters, conditions, context meta-features, and the focus of a
restricted space. The conversions live in :mod:`metarl.space._matrix`, the design grid in
:mod:`metarl.space._grid`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from metarl.space._grid import GridMixin
from metarl.space._matrix import MatrixMixin
from metarl.space._numeric import Fidelity
from metarl.space._params import Categorical, Param, SpaceError
from metarl.space._restrict import focus_of, restrict_params
from metarl.space._serialize import read_yaml, space_from_dict, space_to_dict
from metarl.type_aliases import Config, ConfigMatrix, Value


class SearchSpace(MatrixMixin, GridMixin):
    """A space of training configurations and its meta-feature encoding.

    Args:
        params: name -> parameter (``Categorical``, ``Integer``, ``Float``, ``Boolean``,
            ``Subset``, ``Fidelity``). Conditions (``active_if``) may name any earlier or
            later parameter; the space orders parameters so that parents come first.
        context: fixed per-study meta-features, name -> parameter giving its domain (e.g.
            ``{"dataset": Categorical([...]), "n_samples": Integer(1, 10**7, log=True)}``).
            They are not searched; their values are appended to every encoding so that one
            meta-learner can learn across datasets and hardware.
        context_values: the values of this study's context (see :meth:`with_context`). A
            config may also carry its own context values (pooled data from other studies).

    Encoding (``encode``): per parameter, in order, an "active" bit when the parameter is
    conditional, then its features: one-hot for an unordered Categorical, one scaled ordinal
    for an ordered (numeric) Categorical, the value scaled to [0, 1] (log where asked) for
    Integer/Float/Fidelity, 0/1 for a Boolean, one 0/1 bit per item for a Subset. An
    inactive parameter encodes as all zeros. Context features follow, encoded the same way.

    ``cardinality`` counts the configs on the design grid: every choice of a Categorical,
    Boolean, Subset and small Integer, and the ``bins`` of a Float or wide Integer; a
    Fidelity is held at its ``full`` value (the loop, not the design, chooses it).

    A space may be *restricted* to a focus (:meth:`restrict`): it is then a SearchSpace
    whose sampling, design grid, enumeration and cardinality keep to the focus while its
    value-matrix columns, encoding and validation stay those of the unrestricted
    :attr:`parent`, so that every policy and learner works on it unchanged.
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
        for name, p in self.context.items():
            if name in self.params:
                raise SpaceError(f"context feature {name!r} is also a parameter")
            if p.active_if:
                raise SpaceError(f"context feature {name!r}: context cannot be conditional")
            if isinstance(p, Fidelity) or p.restricted:
                raise SpaceError(f"context feature {name!r}: a fixed value, not a {p!r}")
            if isinstance(p, Categorical) and any(c is None for c in p.choices):
                raise SpaceError(
                    f"context feature {name!r}: None cannot be a choice (it means no value)"
                )
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

    # ------------------------------------------------------------------ focus
    def restrict(
        self,
        *,
        fixed: Mapping[str, Any] | None = None,
        ranges: Mapping[str, Any] | None = None,
        choices: Mapping[str, Any] | None = None,
        items: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> SearchSpace:
        """A subspace: the configs of this space inside a focus.

        The subspace is a SearchSpace with the same parameters, columns and encoding (so a
        learner fitted on this space's history predicts it unchanged, and a config of the
        subspace is a config of this space); its sampling, design grid (``decisions``),
        ``enumerate``, ``cardinality`` and ``snap_to_grid`` keep to the focus.
        :meth:`contains` / :meth:`contains_matrix` tell whether configs lie in it. Restricting
        a restricted space narrows its focus further.

        A focused conditional parameter is active in every config of the subspace (as in
        ConfigSpace, a config holds no value for an inactive parameter): its parents, up the
        chain of conditions, are narrowed to the values that activate it (``fixed={"C": 1.0}``
        with ``C`` active only for ``model="a"`` also fixes ``model="a"``). A numeric parent
        with several activating values is not guessed: it must be focused too.

        Args:
            fixed: name -> the one value a parameter takes (a Subset: the exact items).
            ranges: name -> ``[low, high]`` for an Integer, Float or ordered numeric
                Categorical; the design grid keeps this space's grid values in the range.
            choices: name -> the allowed values of a Categorical or Boolean.
            items: Subset name -> ``{"include": [...], "exclude": [...]}`` (items always /
                never selected; ``"allowed": [...]`` excludes every item not listed).

        Raises:
            SpaceError: (one line naming the culprit) an unknown or context parameter, a
                parameter named twice, a value or range outside the parameter's domain (or
                the current focus), a restriction that does not apply to the kind (a
                Fidelity is never restricted), or a focus that leaves no config (a range
                between two grid values, a Subset that cannot reach ``min_size``), or that
                leaves a focused parameter never active.

        Example::

            sub = space.restrict(
                fixed={"model": "svm"}, ranges={"C": [0.1, 10.0]},
                items={"features": {"include": ["age"], "exclude": ["id"]}},
            )
        """
        focus = {"fixed": fixed, "ranges": ranges, "choices": choices, "items": items}
        return self._focused({k: v for k, v in focus.items() if v is not None})

    def _focused(self, focus: Mapping[str, Any]) -> SearchSpace:
        return SearchSpace(restrict_params(self, focus), self.context, self.context_values)

    @property
    def focus(self) -> dict[str, dict[str, Any]]:
        """The focus as :meth:`restrict`'s keyword arguments from :attr:`parent` (``{}``
        when unrestricted); stored as the ``focus`` key of :meth:`to_dict`."""
        return focus_of(self._params_in_input_order())

    @property
    def restricted(self) -> bool:
        """Whether a focus narrows this space."""
        return any(p.restricted for p in self.params.values())

    @property
    def parent(self) -> SearchSpace | None:
        """The unrestricted space of a restricted one (None when unrestricted)."""
        if not self.restricted:
            return None
        params = {n: p.unrestricted() for n, p in self._params_in_input_order().items()}
        return SearchSpace(params, self.context, self.context_values)

    # ------------------------------------------------------------------ sampling
    def sample_matrix(self, n: int, seed: int | np.random.Generator | None = None) -> ConfigMatrix:
        """``n`` uniformly drawn configs as a value matrix (NaN where inactive), in focus."""
        rng = np.random.default_rng(seed)
        M = np.empty((n, self.n_columns), dtype=np.float64)
        for name, p in self.params.items():
            M[:, self.column_slices[name]] = p.sample_columns(rng, n)
        return self._apply_activity(M)

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> list[Config]:
        """``n`` uniformly drawn configs (each parameter uniform; inactive ones left out)."""
        return self.to_configs(self.sample_matrix(n, seed))

    # ------------------------------------------------------------------ dict / YAML
    def to_dict(self) -> dict[str, Any]:
        """The dict form ``{name: {type: ..., ...}}``; with context or a focus,
        ``{params:, context:, focus:}`` (``focus`` as :attr:`focus`)."""
        return space_to_dict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchSpace:
        """Build a space from its dict form (see :meth:`to_dict`)."""
        return space_from_dict(cls, d)

    @classmethod
    def from_yaml(cls, path: str | Path) -> SearchSpace:
        """Read a space from a YAML file in the dict form."""
        d = read_yaml(path)
        try:
            return cls.from_dict(d)
        except SpaceError as e:
            raise SpaceError(f"{path}: {e}") from None

    def to_yaml(self, path: str | Path) -> None:
        import yaml

        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    # ------------------------------------------------------------------ misc
    def fingerprint(self) -> str:
        """A short stable hash of the space's definition, focus included (to refuse
        mismatched files); :meth:`encoding_fingerprint` ignores the focus."""
        import hashlib
        import json

        body = json.dumps(
            {n: p.to_dict() for n, p in self.params.items()}, sort_keys=True, default=str
        )
        body += json.dumps(
            {n: p.to_dict() for n, p in self.context.items()}, sort_keys=True, default=str
        )
        if self.restricted:
            body += json.dumps(self.focus, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def encoding_fingerprint(self) -> str:
        """The fingerprint of the unrestricted space: equal for a space and every focus of
        it, as their value matrices and encodings are (for learner files, studies)."""
        parent = self.parent
        return (parent or self).fingerprint()

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
