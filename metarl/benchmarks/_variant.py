"""Task-name variants: the same table, observed through a wider noise.

A variant is a suffix of modifiers after the task name, each starting with ``:``::

    hpolib/protein_structure            the task as recorded
    hpolib/protein_structure:noise3     seed-to-seed spread x3, 2 recorded seeds drawn from
    hpolib/protein_structure:noise3:seeds3   spread x3, 3 recorded seeds drawn from
    hpolib/protein_structure:noise3:seedsall  spread x3, every recorded seed drawn from
    hpolib/protein_structure:seeds1     as recorded, but always the first recorded seed

``:noise<F>`` (F > 0, e.g. ``noise3``, ``noise2.5``) multiplies each observation's deviation
from the config's seed-mean by F, on the protocol's g scale: ``mean + F * (value - mean)``
for accuracies, ``mean * (value / mean) ** F`` for HPOLib's losses (g = log10(loss): the
loss stays positive). ``:seeds<K>`` (K >= 1, or ``all``) keeps only the first K recorded
seeds of each config for the draws. ``:noise<F>`` alone keeps :data:`NOISY_SEEDS` seeds: the
noise-robustness check of issue 13 in one word. Only the main metric is rescaled; the
others are the drawn seed's recorded values. The truth (seed-mean over *every* recorded
seed) is the clean task's, so regret stays comparable between a task and its variants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Recorded seeds kept for the draws by ``:noise<F>`` when ``:seeds<K>`` is not given.
NOISY_SEEDS = 2

_MODIFIER = re.compile(r"(noise)(\d+(?:\.\d+)?)|(seeds)(\d+|all)")


@dataclass(frozen=True)
class Variant:
    """How a task's observations are drawn (see the module docstring).

    Attributes:
        noise: factor on each observation's deviation from the seed-mean (1: as recorded).
        seeds: recorded seeds kept for the draws per config (None: all of them).
    """

    noise: float = 1.0
    seeds: int | None = None

    def __post_init__(self) -> None:
        if not self.noise > 0:
            raise ValueError(f"noise factor must be > 0, got {self.noise!r}")
        if self.seeds is not None and self.seeds < 1:
            raise ValueError(f"kept seeds must be >= 1, got {self.seeds!r}")

    @property
    def suffix(self) -> str:
        """The canonical name suffix (``""`` for the task as recorded)."""
        out = f":noise{self.noise:g}" if self.noise != 1.0 else ""
        implied = NOISY_SEEDS if out else None
        if self.seeds != implied:
            out += f":seeds{self.seeds}" if self.seeds is not None else ":seedsall"
        return out

    @property
    def is_clean(self) -> bool:
        """True when observations are drawn as recorded, from every seed."""
        return self.noise == 1.0 and self.seeds is None


def parse_variant(suffix: str) -> Variant:
    """The :class:`Variant` of a name suffix (``":noise3"``, ``":noise3:seeds4"``, ``""``).

    Raises:
        ValueError: an unknown or repeated modifier (the message shows the syntax).
    """
    if not suffix:
        return Variant()
    found: dict[str, str] = {}
    for part in suffix.removeprefix(":").split(":"):
        m = _MODIFIER.fullmatch(part)
        if m is None or (m.group(1) or m.group(3)) in found:
            why = "repeated" if m is not None else "unknown"
            raise ValueError(
                f"{why} task modifier {part!r} in {suffix!r}; valid: ':noise<F>' (F > 0, "
                "seed-to-seed spread x F) and ':seeds<K>' (K >= 1 recorded seeds kept, or "
                "'all'), "
                "e.g. 'hpolib/protein_structure:noise3'"
            )
        key = m.group(1) or m.group(3)
        found[key] = m.group(2) or m.group(4)
    noise = float(found.get("noise", 1.0))
    default = NOISY_SEEDS if "noise" in found and noise != 1.0 else None
    if "seeds" in found:
        seeds = None if found["seeds"] == "all" else int(found["seeds"])
    else:
        seeds = default
    return Variant(noise=noise, seeds=seeds)


def split_task_name(name: str) -> tuple[str, Variant]:
    """``"hpolib/protein_structure:noise3"`` -> ``("hpolib/protein_structure", Variant(3, 2))``.

    Raises:
        ValueError: a malformed variant suffix.
    """
    base, sep, rest = str(name).partition(":")
    return base, parse_variant(sep + rest)
