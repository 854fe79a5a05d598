"""The dict and YAML forms of a search space: parameters by ``type``, context values, and
the ``focus`` of a restricted space."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metarl.space._numeric import Fidelity, Float, Integer
from metarl.space._params import Boolean, Categorical, Param, SpaceError
from metarl.space._restrict import focus_of, restrict_params
from metarl.space._subset import Subset

if TYPE_CHECKING:
    from metarl.space._space import SearchSpace

KINDS: dict[str, type[Param]] = {
    "categorical": Categorical,
    "integer": Integer,
    "float": Float,
    "boolean": Boolean,
    "subset": Subset,
    "fidelity": Fidelity,
}

#: The top-level keys of the structured dict form (the flat form is just the parameters).
_SECTIONS = {"params", "context", "focus"}


def param_from_dict(name: str, d: Any) -> Param:
    """One parameter from its dict form ``{type: ..., ...}``."""
    if not isinstance(d, Mapping):
        raise SpaceError(f"parameter {name!r}: expected a mapping with a 'type', got {d!r}")
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in KINDS:
        raise SpaceError(f"parameter {name!r}: unknown type {kind!r} (one of {sorted(KINDS)})")
    d.pop("value", None)
    valid = _keys_of(KINDS[kind])
    unknown = sorted(str(k) for k in d if k not in valid)
    if unknown:
        raise SpaceError(
            f"parameter {name!r}: unknown key(s) {unknown} for type {kind!r} "
            f"(valid: {sorted(valid)})"
        )
    try:
        if kind == "categorical":
            return Categorical(d.pop("choices", []), **d)
        if kind == "subset":
            return Subset(d.pop("items", []), **d)
        if kind == "boolean":
            return KINDS[kind](**d)
        return KINDS[kind](d.pop("low", None), d.pop("high", None), **d)
    except (TypeError, SpaceError) as e:  # unknown or missing keys; choices that are no list
        raise SpaceError(f"parameter {name!r}: {e}") from None


def _keys_of(cls: type) -> set[str]:
    """The keys a parameter of class ``cls`` takes in its dict form: its constructor's."""
    params = inspect.signature(cls.__init__).parameters
    return {n for n, p in params.items() if n != "self" and p.kind is not p.VAR_KEYWORD}


def space_to_dict(space: SearchSpace) -> dict[str, Any]:
    """See ``SearchSpace.to_dict``."""
    params_in_order = {n: space.params[n] for n in space._input_order}
    params = {n: p.to_dict() for n, p in params_in_order.items()}
    focus = focus_of(params_in_order)
    if not space.context and not focus:
        return params
    out: dict[str, Any] = {"params": params}
    if space.context:
        ctx = {}
        for n, p in space.context.items():
            ctx[n] = p.to_dict()
            if n in space.context_values:
                ctx[n]["value"] = space.context_values[n]
        out["context"] = ctx
    if focus:
        out["focus"] = focus
    return out


def space_from_dict(cls: type[SearchSpace], d: Mapping[str, Any]) -> SearchSpace:
    """See ``SearchSpace.from_dict``."""
    if not isinstance(d, Mapping):
        raise SpaceError(f"a search space must be a mapping, got {type(d).__name__}")
    if not ("params" in d and isinstance(d["params"], Mapping) and set(d) <= _SECTIONS):
        return cls({str(n): param_from_dict(str(n), v) for n, v in d.items()})
    ctx_d = dict(d.get("context") or {})
    params = {str(n): param_from_dict(str(n), v) for n, v in d["params"].items()}
    context = {str(n): param_from_dict(str(n), v) for n, v in ctx_d.items()}
    values = {n: v["value"] for n, v in ctx_d.items() if isinstance(v, Mapping) and "value" in v}
    space = cls(params, context, values)
    if d.get("focus"):
        focus = d["focus"]
        if not isinstance(focus, Mapping):
            raise SpaceError(f"focus: expected a mapping, got {focus!r}")
        # as written: a stored study's space keeps its fingerprint (the rule that narrows a
        # focused child's parents applies to a focus given for a search, not to this form)
        space = cls(
            restrict_params(space, focus, activate=False), space.context, space.context_values
        )
    return space


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML document at ``path``; a one-line SpaceError when unreadable."""
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise SpaceError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None
    except OSError as e:
        raise SpaceError(f"{path}: cannot read: {e.strerror}") from None
