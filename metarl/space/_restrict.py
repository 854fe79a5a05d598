"""Focusing a search space on a subspace (``SearchSpace.restrict``) and the dict form of a
focus (the ``focus:`` key of a space's dict/YAML form).

A focus on a conditional parameter means configs that hold it (as in ConfigSpace, where a
configuration never holds a value for an inactive parameter): fixing ``C`` where ``C`` is
active only for ``model: svm`` focuses on ``model: svm`` too. So a focused parameter's
parents are narrowed to the values that activate it (up the chain of conditions), and a
focus that leaves it never active (``model: knn`` with ``C: 1.0``) is refused.

That rule applies to a focus given for a search (``SearchSpace.restrict``, ``Study(focus=)``,
``metarl run``'s ``focus`` key, ``metarl propose --focus``). The ``focus`` section of a
space's dict form (a stored study's ``metarl:space``, a space file) is rebuilt as written
(``activate=False``): ``to_dict`` of a narrowed focus already names the narrowed parents, and a
study stored before the rule keeps its space and fingerprint (it can still be read, served
and resumed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from metarl.space._numeric import Integer, _Numeric
from metarl.space._params import Param, SpaceError, _Finite, _py

if TYPE_CHECKING:
    from metarl.space._space import SearchSpace

#: The kinds of restriction, in the order a focus lists them.
FOCUS_KEYS = ("fixed", "ranges", "choices", "items")


def restrict_params(
    space: SearchSpace, focus: Mapping[str, Any], *, activate: bool = True
) -> dict[str, Param]:
    """The parameters of ``space`` (input order) narrowed by ``focus``.

    Args:
        space: the space to narrow (possibly restricted already: a focus only narrows).
        focus: ``{kind: {name: spec}}`` with kinds among :data:`FOCUS_KEYS`.
        activate: narrow the parents of focused conditional parameters (below); False
            rebuilds a stored focus exactly as written (the dict form's ``focus`` section).

    With ``activate``, a focused parameter is active in every config of the focus: the
    parents of its conditions (and theirs) are narrowed to the values that activate it.

    Raises:
        SpaceError: one line naming the culprit: an unknown kind or parameter, a parameter
            named twice, a value outside the parameter's domain or the current focus, a
            focus that leaves a parameter no value, a focused parameter that is never active
            in the focus, or one whose numeric parent would have to take one of several
            values (fix that parent); the last two only with ``activate``.
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
                    f"focus: {name!r} is a context feature, not a parameter: set its value "
                    "instead (metarl propose --context, value: in the space, with_context)"
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
    if activate:
        _activate_focused(space, params, set(named))
    return params


def _activate_focused(space: SearchSpace, params: dict[str, Param], named: set[str]) -> None:
    """Narrow, in place, the parents of the parameters this focus names to the values that
    activate them, children first so that a narrowed parent's own parents follow. A
    parameter restricted by an earlier (stored) focus and not named again is left as it is."""
    origin: dict[str, str] = {}  # a parent narrowed here -> the focused parameter behind it
    for name in reversed(list(space.params)):  # space.params: parents before children
        p = params[name]
        if not p.restricted or (name not in named and name not in origin):
            continue
        who = origin.get(name, name)
        for parent, values in p.active_if.items():
            params[parent] = _narrowed(params[parent], values, name, who)
            origin.setdefault(parent, who)


def _narrowed(parent: Param, values: list[Any], child: str, who: str) -> Param:
    """``parent`` restricted to those of its focus values that are among ``values`` (the
    values activating ``child``, which the focus on ``who`` needs active)."""
    codes = parent.condition_codes(values)
    shown = [_py(v) for v in values]
    needs = "it is" if who == child else f"it needs {child!r}, which is"
    never = (
        f"focus: parameter {who!r} is never active in the focus: {needs} active only when "
        f"{parent.name!r} is one of {shown}"
    )
    if isinstance(parent, _Finite):
        current = parent.grid()
        keep = current[np.isin(current, codes)]
        if len(keep) == 0:
            left = [_py(parent.to_value(c[None])) for c in current]
            raise SpaceError(f"{never}, and the focus leaves {parent.name!r} {left}")
        return parent if len(keep) == len(current) else parent._with_focus(keep)  # noqa: SLF001
    if isinstance(parent, _Numeric):
        lo, hi = parent.bounds
        tol = 1e-9 * max(1.0, abs(float(parent.high)), abs(float(parent.low)))
        inside = sorted({float(c) for c in codes if lo - tol <= c <= hi + tol})
        if not inside:
            raise SpaceError(f"{never}, and the focus leaves {parent.name!r} in [{lo}, {hi}]")
        if lo == hi:
            return parent
        if isinstance(parent, Integer) and hi - lo < 10_000:
            span = range(math.ceil(lo), math.floor(hi) + 1)
            if {float(v) for v in span} <= set(inside):
                return parent  # every value of the focus activates the child
        if len(inside) == 1:
            value = int(inside[0]) if isinstance(parent, Integer) else inside[0]
            return parent.restrict("fixed", value)
        ones = [int(v) if isinstance(parent, Integer) else v for v in inside]
        # a range is accepted when every value of it activates the child (the span check
        # above): name the one that does when the values are consecutive integers
        hint = ""
        if isinstance(parent, Integer) and ones == list(range(ones[0], ones[-1] + 1)):
            hint = f" (or focus it on the range [{ones[0]}, {ones[-1]}])"
        elif isinstance(parent, Integer) and any(b == a + 1 for a, b in zip(ones, ones[1:])):
            hint = " (or focus it on a range that holds only such values)"
        raise SpaceError(
            f"focus: parameter {who!r}: {needs} active only when {parent.name!r} is one of "
            f"{ones}: fix {parent.name!r} to one of {ones} in the focus{hint}"
        )
    raise SpaceError(f"focus: parameter {who!r}: its parent {parent.name!r} cannot be narrowed")


def focus_of(params: Mapping[str, Param]) -> dict[str, dict[str, Any]]:
    """The dict form of the focus of ``params`` (empty when none is restricted): the
    canonical arguments of ``restrict`` that build it from the unrestricted space."""
    out: dict[str, dict[str, Any]] = {}
    for name, p in params.items():
        f = p.focus()
        if f is not None:
            out.setdefault(f[0], {})[name] = f[1]
    return {k: out[k] for k in FOCUS_KEYS if k in out}
