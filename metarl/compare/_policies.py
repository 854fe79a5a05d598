"""Which policy a comparison runs: parsing policy specs, and what ``default`` means."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from metarl._defaults import DEFAULT_LEARNER
from metarl.loop import Replicates, check_replicates
from metarl.loop._design import DESIGNS

#: The policy name that stands for the refinement loop with MetaRLSampler's defaults.
DEFAULT = "default"

_SPEC = re.compile(
    r"^\s*(?:(?P<label>[\w.\-]+)\s*=\s*)?(?P<name>[\w.\-/]+)\s*(?:\((?P<args>.*)\))?\s*$"
)


@dataclass(frozen=True)
class PolicySpec:
    """One contender of a comparison.

    Attributes:
        label: the name the contender has in runs.csv, summary.md and regret.png.
        name: a registered policy name (``make_policy(name)``) or ``"default"``.
        kwargs: keyword arguments for ``make_policy``; ``None``: the policy's defaults
            (:func:`metarl.loop.default_policy_kwargs`).
        learner: the meta-learner name for model-based policies (``make_learner``; default
            ``"gp"``, as the defaults of ``MetaRLSampler``).
        learner_kwargs: keyword arguments for ``make_learner``.
        replicates: re-evaluate a lucky-looking incumbent (:class:`metarl.loop.Replicates`;
            None: never), as ``refine(replicates=...)`` does for every search.
        past_bests: with transfer data, propose first the best observed config of this many
            past datasets (``refine(past_bests=...)``; 0: none).
        init_design: the kind of the run's initial design (``initial_design(method=...)``:
            ``"random"``, ``"maximin"``).
    """

    label: str
    name: str
    kwargs: dict[str, Any] | None = field(default_factory=dict)
    learner: str = DEFAULT_LEARNER
    learner_kwargs: dict[str, Any] = field(default_factory=dict)
    replicates: Replicates | None = None
    past_bests: int = 0
    init_design: str = "random"


def default_policy() -> tuple[str, str, dict[str, Any] | None]:
    """``(learner name, policy name, policy kwargs)`` of :class:`metarl.MetaRLSampler` with
    its defaults: the one place that says what the ``default`` contender of a comparison is.

    The policy name may be ``"auto"``, resolved per space by
    :func:`metarl.loop.make_search_policy` as every search resolves it; kwargs ``None``
    mean the policy's defaults (:func:`metarl.loop.default_policy_kwargs`, which differ
    with transfer data).
    """
    from metarl.sampler import MetaRLSampler

    sampler = MetaRLSampler()
    learner, policy = sampler.learner, sampler.policy
    if not isinstance(learner, str) or not isinstance(policy, str):
        raise TypeError("MetaRLSampler's default learner and policy must be given by name")
    return learner, policy, sampler.policy_kwargs


#: Keywords of the default contender that choose its acquisition: given any of them, the
#: spec starts from the cold default (UCB, kappa 2) whether or not the run has transfer data.
_ACQUISITION_KEYS = frozenset({"acquisition", "kappa"})


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses, brackets or braces (a YAML flow
    value such as ``{max_evals: 3, z: 0.5}`` keeps its commas)."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_policy(spec: str | PolicySpec) -> PolicySpec:
    """Parse ``"name"``, ``"name(k=v, ...)"`` or ``"label=name(k=v, ...)"``.

    Values are read as YAML scalars (``n_steps=512``, ``env_id=envs/EditDesign-v0``). The
    keys ``learner`` and ``learner_kwargs`` choose the meta-learner of a model-based policy;
    ``replicates`` its replicate rule (``replicates=2``, ``replicates={max_evals: 3, z: 0.5}``,
    see :class:`metarl.loop.Replicates`); ``past_bests`` how many past datasets' best
    configs a transfer run evaluates first (``past_bests=3``, ``refine(past_bests=...)``);
    ``init_design`` the kind of its initial design (``init_design=maximin``,
    :func:`metarl.loop.initial_design`).

    Raises:
        ValueError: a spec that does not parse, or a bad ``replicates`` (the message quotes
            the spec).
    """
    if isinstance(spec, PolicySpec):
        return spec
    m = _SPEC.match(str(spec))
    if m is None:
        raise ValueError(f"cannot parse policy spec {spec!r} (expected name or name(k=v, ...))")
    name = m["name"]
    kwargs: dict[str, Any] = {}
    for item in _split_top_level(m["args"] or ""):
        key, eq, value = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise ValueError(f"policy spec {spec!r}: expected key=value, got {item!r}")
        if key.strip() in kwargs:
            raise ValueError(f"policy spec {spec!r}: key {key.strip()!r} given twice")
        kwargs[key.strip()] = yaml.safe_load(value.strip())
    learner_kwargs = dict(kwargs.pop("learner_kwargs", None) or {})
    learner = kwargs.pop("learner", None)
    try:
        replicates = check_replicates(kwargs.pop("replicates", None))
    except ValueError as e:
        raise ValueError(f"policy spec {spec!r}: {e}") from None
    past_bests = kwargs.pop("past_bests", 0)
    if isinstance(past_bests, bool) or not isinstance(past_bests, int) or past_bests < 0:
        raise ValueError(f"policy spec {spec!r}: past_bests must be an integer >= 0")
    init_design = kwargs.pop("init_design", "random")
    if init_design not in DESIGNS:
        raise ValueError(f"policy spec {spec!r}: init_design must be one of {', '.join(DESIGNS)}")
    if name == DEFAULT:
        d_learner, d_policy, d_kwargs = default_policy()
        if d_kwargs is None and not kwargs:
            kwargs = None  # the policy's own defaults, resolved per run (transfer or not)
        elif d_kwargs is None and not set(kwargs) & _ACQUISITION_KEYS:
            # e.g. min_distance: the acquisition stays the run's default (UCB, or the
            # predicted mean with transfer data), resolved per run by make_search_policy
            pass
        else:  # a kappa alone means UCB, as in the cold default
            from metarl.loop import default_policy_kwargs

            kwargs = {**(d_kwargs or default_policy_kwargs(d_policy)), **kwargs}
        name = d_policy
        learner = learner or d_learner
        label = m["label"] or DEFAULT
    else:
        label = m["label"] or str(spec).strip()
    return PolicySpec(
        label,
        name,
        kwargs,
        learner or DEFAULT_LEARNER,
        learner_kwargs,
        replicates,
        past_bests,
        init_design,
    )


def parse_policies(specs: str | list[str | PolicySpec]) -> list[PolicySpec]:
    """Parse a comma-separated list (commas inside parentheses kept) or a list of specs.

    Raises:
        ValueError: an empty list, a spec that does not parse, or two contenders with the
            same label.
    """
    items = _split_top_level(specs) if isinstance(specs, str) else list(specs)
    out = [parse_policy(s) for s in items]
    if not out:
        raise ValueError("no policy given")
    labels = [p.label for p in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"policy label(s) given twice: {dup}")
    for p in out:
        if "__" in p.label or "/" in p.label:
            raise ValueError(f"policy label {p.label!r}: use label=spec with no '__' or '/'")
    return out
