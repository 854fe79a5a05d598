"""Focusing a search space on a subspace (``SearchSpace.restrict``) and the dict form of a
focus (the ``focus:`` key of a space's dict/YAML form)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from metarl.space._params import Param, SpaceError

if TYPE_CHECKING:
    from metarl.space._space import SearchSpace

#: The kinds of restriction, in the order a focus lists them.
FOCUS_KEYS = ("fixed", "ranges", "choices", "items")


def restrict_params(space: SearchSpace, focus: Mapping[str, Any]) -> dict[str, Param]:
    """The parameters of ``space`` (input order) narrowed by ``focus``.

    Args:
        space: the space to narrow (possibly restricted already: a focus only narrows).
        focus: ``{kind: {name: spec}}`` with kinds among :data:`FOCUS_KEYS`.

    Raises:
        SpaceError: one line naming the culprit: an unknown kind or parameter, a parameter
            named twice, a value outside the parameter's domain or the current focus, or a
            focus that leaves a parameter no value.
    """
    if not isinstance(focus, Mapping):
        raise SpaceError(f"focus: expected a mapping of {list(FOCUS_KEYS)}, got {focus!r}")
    unknown = [k for k in focus if k not in FOCUS_KEYS]
    if unknown:
        raise SpaceError(f"focus: unknown key {unknown[0]!r} (one of {list(FOCUS_KEYS)})")
    params = {n: space.params[n] for n in space._input_order}
    named: dict[str, str] = {}
    for how in FOCUS_KEYS:
        specs = focus.get(how)
        if specs is None:
            continue
        if not isinstance(specs, Mapping):
            raise SpaceError(f"focus: {how} must map parameter names to values, got {specs!r}")
        for name, spec in specs.items():
            if name in space.context:
                raise SpaceError(
                    f"focus: {name!r} is a context feature, not a parameter (use with_context)"
                )
            if name not in params:
                raise SpaceError(f"focus: unknown parameter {name!r} (parameters: {space.names})")
            if name in named:
                raise SpaceError(f"focus: parameter {name!r} is named in {named[name]} and {how}")
            named[name] = how
            try:
                params[name] = params[name].restrict(how, spec)
            except SpaceError as e:
                raise SpaceError(f"focus: {e}") from None
    return params


def focus_of(params: Mapping[str, Param]) -> dict[str, dict[str, Any]]:
    """The dict form of the focus of ``params`` (empty when none is restricted): the
    canonical arguments of ``restrict`` that build it from the unrestricted space."""
    out: dict[str, dict[str, Any]] = {}
    for name, p in params.items():
        f = p.focus()
        if f is not None:
            out.setdefault(f[0], {})[name] = f[1]
    return {k: out[k] for k in FOCUS_KEYS if k in out}
