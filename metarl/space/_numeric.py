"""Numeric parameter kinds: ``Integer``, ``Float``, and ``Fidelity`` (how much training an
evaluation spends: a meta-feature that the loop, not the design, chooses)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from metarl.space._params import Param, _is_number, _py, _range
from metarl.type_aliases import Value


def _sample_int(rng: np.random.Generator, lo: int, hi: int, log: bool, n: int) -> np.ndarray:
    """(n,) float64 integers in ``[lo, hi]``, uniform (on the log scale when ``log``)."""
    if log:  # log-uniform over [lo - 0.5, hi + 0.5], then rounded
        u = rng.uniform(math.log(lo - 0.5), math.log(hi + 0.5), size=n)
        return np.clip(np.round(np.exp(u)), lo, hi)
    return rng.integers(lo, hi + 1, size=n).astype(np.float64)


class _Numeric(Param):
    """A number in ``[low, high]``, encoded scaled to [0, 1] (on the log scale when ``log``).

    Its focus is ``(lo, hi)`` inside ``[low, high]``: ``lo == hi`` is a fixed value, else
    the design grid is the whole grid's values in ``[lo, hi]`` (so that configs designed in
    the focus are configs of the whole design) and sampling is uniform in ``[lo, hi]``.
    """

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        bins: int | None = None,
        active_if: dict[str, Sequence[Value]] | None = None,
    ) -> None:
        super().__init__(active_if)
        self.low = low
        self.high = high
        self.log = bool(log)
        self.bins = bins

    def validate(self) -> None:
        if not (_is_number(self.low) and _is_number(self.high)):
            raise self._err(f"low and high must be numbers, got {self.low!r}, {self.high!r}")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            # NaN fails every comparison below and inf passes them: both would give configs
            # without the parameter or with an infinite value
            raise self._err(f"low and high must be finite, got {self.low!r}, {self.high!r}")
        if self.low > self.high:
            raise self._err(f"low ({self.low}) > high ({self.high})")
        if self.log and self.low <= 0:
            raise self._err(f"log=True needs low > 0, got low={self.low}")
        if self.bins is not None and (not isinstance(self.bins, int) or self.bins < 1):
            raise self._err(f"bins must be a positive int, got {self.bins!r}")

    @property
    def encoded_width(self) -> int:
        return 1

    def _scale(self, v: np.ndarray) -> np.ndarray:
        lo, hi = float(self.low), float(self.high)
        if hi == lo:
            return np.zeros_like(v)
        if self.log:
            return (np.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (v - lo) / (hi - lo)

    def _unscale(self, u: np.ndarray) -> np.ndarray:
        lo, hi = float(self.low), float(self.high)
        u = np.clip(u, 0.0, 1.0)
        if self.log:
            return np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        return lo + u * (hi - lo)

    def encode_columns(self, cols: np.ndarray) -> np.ndarray:
        return self._scale(cols).astype(np.float32)

    def _dict_body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"low": _py(self.low), "high": _py(self.high)}
        if self.log:
            d["log"] = True
        if self.bins is not None:
            d["bins"] = self.bins
        return d

    # ------------------------------------------------------------------ focus
    def _tol(self) -> float:
        return 1e-9 * max(1.0, abs(float(self.high)), abs(float(self.low)))

    @property
    def bounds(self) -> tuple[Any, Any]:
        """``(low, high)`` of the focus: the values sampling draws from (the whole range
        when unrestricted)."""
        return (self.low, self.high) if self._focus is None else self._focus

    def _full_grid(self) -> np.ndarray:
        """The design grid of the whole domain."""
        raise NotImplementedError

    def grid(self) -> np.ndarray:
        if self._focus is None:
            return self._full_grid()
        lo, hi = self._focus
        if lo == hi:
            return np.asarray([float(lo)])
        g, t = self._full_grid(), self._tol()
        return g[(g >= lo - t) & (g <= hi + t)]

    def in_focus(self, cols: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds
        t = self._tol()
        return (cols[:, 0] >= lo - t) & (cols[:, 0] <= hi + t)

    def _check_range(self, lo: Any, hi: Any) -> None:
        t = self._tol()
        if lo < self.low - t or hi > self.high + t:
            raise self._err(f"range [{lo}, {hi}] is outside [{self.low}, {self.high}]")

    def restrict(self, how: str, spec: Any) -> Param:
        if how == "fixed":
            self.from_value(spec)
            lo = hi = _py(spec)
        elif how == "ranges":
            lo, hi = _range(self, spec)
            self._check_range(lo, hi)
        else:
            return super().restrict(how, spec)
        if self._focus is not None:
            cur_lo, cur_hi = self._focus
            t = self._tol()
            if lo < cur_lo - t or hi > cur_hi + t:
                what = f"value {lo}" if lo == hi else f"range [{lo}, {hi}]"
                raise self._err(f"{what} is outside the focus [{cur_lo}, {cur_hi}]")
        new = self._with_focus((lo, hi))
        if len(new.grid()) == 0:
            g = self._full_grid()
            raise self._err(
                f"range [{lo}, {hi}] holds no value of the design grid (nearest: "
                f"{_py(g[g < lo].max())} and {_py(g[g > hi].min())}); widen it, or use fixed="
            )
        return new

    def focus(self) -> tuple[str, Any] | None:
        if self._focus is None:
            return None
        lo, hi = self._focus
        return ("fixed", lo) if lo == hi else ("ranges", [lo, hi])


class Integer(_Numeric):
    """An integer in ``[low, high]``; ``log`` samples and scales on a log scale.

    The design environment offers every value when there are at most ``bins`` (default 32)
    of them, else ``bins`` values spread evenly (on the log scale when ``log``).
    """

    type_name = "integer"
    default_bins = 32

    def validate(self) -> None:
        if not all(_is_int(x) for x in (self.low, self.high)):
            raise self._err(f"low and high must be ints, got {self.low!r}, {self.high!r}")
        super().validate()

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lo, hi = self.bounds
        return _sample_int(rng, int(lo), int(hi), self.log, n)[:, None]

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return np.clip(np.round(self._unscale(enc[:, :1].astype(np.float64))), self.low, self.high)

    def to_value(self, cols: np.ndarray) -> int:
        return int(cols[0])

    def from_value(self, value: Any) -> list[float]:
        if not _is_number(value) or float(value) != int(value):
            raise self._err(f"value {value!r} is not an integer")
        if not self.low <= value <= self.high:
            raise self._err(f"value {value!r} is outside [{self.low}, {self.high}]")
        return [float(value)]

    def restrict(self, how: str, spec: Any) -> Param:
        if how == "ranges" and not all(_is_int(x) for x in _range(self, spec)):
            raise self._err(f"a range of integers must be two ints, got {spec!r}")
        if how == "fixed":
            self.from_value(spec)
            spec = int(spec)
        return super().restrict(how, spec)

    def _full_grid(self) -> np.ndarray:
        span = self.high - self.low + 1
        bins = self.bins or self.default_bins
        if span <= bins:
            return np.arange(self.low, self.high + 1, dtype=np.float64)
        g = self._unscale(np.linspace(0.0, 1.0, bins))
        return np.unique(np.clip(np.round(g), self.low, self.high))


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


class Float(_Numeric):
    """A real number in ``[low, high]``; ``bins`` values (default 16) are offered by the
    design environment, evenly spaced (on the log scale when ``log``)."""

    type_name = "float"
    default_bins = 16

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self._focus is None:
            return self._unscale(rng.uniform(0.0, 1.0, size=n))[:, None]
        lo, hi = self._focus
        if lo == hi:
            return np.full((n, 1), float(lo))
        u0, u1 = self._scale(np.asarray([float(lo), float(hi)]))
        return np.clip(self._unscale(rng.uniform(u0, u1, size=n)), lo, hi)[:, None]

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        return self._unscale(enc[:, :1].astype(np.float64))

    def to_value(self, cols: np.ndarray) -> float:
        return float(cols[0])

    def from_value(self, value: Any) -> list[float]:
        if not _is_number(value) or not math.isfinite(float(value)):
            raise self._err(f"value {value!r} is not a finite number")
        tol = self._tol()
        if not self.low - tol <= value <= self.high + tol:
            raise self._err(f"value {value!r} is outside [{self.low}, {self.high}]")
        return [float(value)]

    def restrict(self, how: str, spec: Any) -> Param:
        if how == "fixed":
            self.from_value(spec)
            spec = float(spec)
        return super().restrict(how, spec)

    def _full_grid(self) -> np.ndarray:
        bins = self.bins or self.default_bins
        if bins == 1 or self.low == self.high:
            return np.asarray([float(self.low)])
        return self._unscale(np.linspace(0.0, 1.0, bins))


class Fidelity(_Numeric):
    """How much of a full training an evaluation spends: a fraction of the training
    samples, a number of epochs.

    A fidelity is a meta-feature like any other: a column of the value matrix, encoded as
    its value scaled to [0, 1] (on the log scale when ``log``), so that one meta-learner
    learns across fidelities. But the *design* does not choose it: by default its design
    grid, sampling, enumeration and cardinality hold it at ``full``, so that policies design
    configs (ranked by the learner at full fidelity) and the loop chooses the fidelity to
    evaluate each at (``SearchSpace.at_fidelity``). A config that leaves out an active
    fidelity is at ``full``. A focus cannot restrict a fidelity.

    Args:
        low: the lowest fidelity.
        high: the highest. Two ints make an integer fidelity (epochs), else values are real.
        log: scale on the log scale (encoding and :meth:`levels`).
        full: the full-fidelity value, the one the incumbent is reported at (default
            ``high``).
        bins: how many :meth:`levels` (default 4).
        search: let the design choose the fidelity too: its grid is the levels and
            sampling is uniform in ``[low, high]``.
        active_if: as for every parameter (a fidelity cannot be the parent of a condition).
    """

    type_name = "fidelity"
    default_bins = 4

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        full: float | None = None,
        bins: int | None = None,
        search: bool = False,
        active_if: dict[str, Sequence[Value]] | None = None,
    ) -> None:
        super().__init__(low, high, log=log, bins=bins, active_if=active_if)
        self._explicit_full = full is not None
        self.full = _py(high if full is None else full)
        self.search = bool(search)

    @property
    def integer(self) -> bool:
        """Whether values are ints (``low`` and ``high`` were given as ints)."""
        return _is_int(self.low) and _is_int(self.high)

    def validate(self) -> None:
        super().validate()
        try:
            self.from_value(self.full)
        except Exception as e:
            raise self._err(f"full: {str(e).split(': ', 1)[-1]}") from None

    def levels(self) -> np.ndarray:
        """``bins`` fidelities from ``low`` to ``full``, evenly spaced on the scale (the
        rungs a successive-halving schedule would use)."""
        bins = self.bins or self.default_bins
        lo, full = float(self.low), float(self.full)
        if bins == 1 or lo == full:
            return np.asarray([full])
        if self.log:
            g = np.exp(np.linspace(math.log(lo), math.log(full), bins))
        else:
            g = np.linspace(lo, full, bins)
        g[-1] = full  # exactly full, whatever the rounding of exp(log(full))
        return np.unique(np.round(g)) if self.integer else g

    def _full_grid(self) -> np.ndarray:
        return self.levels() if self.search else np.asarray([float(self.full)])

    def sample_columns(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if not self.search:
            return np.full((n, 1), float(self.full))
        if self.integer:
            return _sample_int(rng, int(self.low), int(self.high), self.log, n)[:, None]
        return self._unscale(rng.uniform(0.0, 1.0, size=n))[:, None]

    def decode_columns(self, enc: np.ndarray) -> np.ndarray:
        v = self._unscale(enc[:, :1].astype(np.float64))
        return np.clip(np.round(v), self.low, self.high) if self.integer else v

    def to_value(self, cols: np.ndarray) -> int | float:
        return int(cols[0]) if self.integer else float(cols[0])

    def from_value(self, value: Any) -> list[float]:
        if not _is_number(value) or not math.isfinite(float(value)):
            raise self._err(f"fidelity {value!r} is not a finite number")
        if self.integer and float(value) != int(value):
            raise self._err(f"fidelity {value!r} is not an integer")
        tol = self._tol()
        if not self.low - tol <= value <= self.high + tol:
            raise self._err(f"fidelity {value!r} is outside [{self.low}, {self.high}]")
        return [float(value)]

    def condition_codes(self, values: Sequence[Value]) -> np.ndarray:
        raise self._err("a Fidelity cannot be the parent of a condition")

    def restrict(self, how: str, spec: Any) -> Param:
        raise self._err("a fidelity is chosen by the loop, not by a focus: it cannot be restricted")

    def _dict_body(self) -> dict[str, Any]:
        d = super()._dict_body()
        if self._explicit_full:
            d["full"] = self.full
        if self.search:
            d["search"] = True
        return d
