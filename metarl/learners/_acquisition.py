"""The acquisition of a fitted meta-learner, shared by the design environments and the
search policies: one definition of "how good is this config predicted to be".

The ``acquisition=`` keyword (``"mean"``, ``"ucb"``, ``"lcb"`` or ``"ei"``) names it
everywhere: in :func:`acquisition`, the policies, the design environments and ``Problem``.
``"ei"`` (log expected improvement) also needs an incumbent, the best posterior mean among
the evaluated configs (:func:`posterior_incumbent`); a path that has none refuses the kind.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, ndtr
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Direction

ACQUISITION_KINDS: tuple[AcquisitionKind, ...] = ("mean", "ucb", "lcb", "ei")
#: The floor on the predictive std in ``"ei"`` (standardised scale): a learner whose std
#: is 0 somewhere still orders those configs by their mean instead of giving -inf.
EI_MIN_STD = 1e-9
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_LOG_SQRT_PI_2 = 0.5 * math.log(math.pi / 2)
#: Below this u, log(1 - exp(w)) in :func:`log_h` is replaced by its leading order.
_U_ASYMPTOTIC = -1 / math.sqrt(np.finfo(np.float64).eps)


def check_acquisition(acquisition: str, kappa: float) -> tuple[AcquisitionKind, float]:
    """Validate the ``acquisition=`` and ``kappa=`` keywords; returns them (kappa a float).

    Raises:
        ValueError: an unknown acquisition, or a kappa that is not a finite number >= 0.
    """
    if acquisition not in ACQUISITION_KINDS:
        raise ValueError(
            f"acquisition must be one of {', '.join(map(repr, ACQUISITION_KINDS))}, "
            f"got {acquisition!r}"
        )
    bad = isinstance(kappa, bool) or not isinstance(kappa, (int, float, np.floating))
    if bad or not kappa >= 0 or math.isinf(kappa):
        raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
    return acquisition, float(kappa)  # type: ignore[return-value]


def check_direction(direction: str) -> int:
    """``"minimize"`` -> -1, ``"maximize"`` -> +1; anything else is a ValueError."""
    if direction == "minimize":
        return -1
    if direction == "maximize":
        return 1
    raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")


def check_learner(space: SearchSpace, learner: MetaLearner | None) -> MetaLearner:
    """Return ``learner`` if it is fitted on ``space``'s encoding, else a one-line error.

    Raises:
        NotFittedError: the learner is not fitted.
        ValueError: no learner, not an estimator, or fitted on another encoding width.
    """
    if learner is None:
        raise ValueError("a fitted meta-learner is needed, got learner=None")
    name = type(learner).__name__
    try:
        check_is_fitted(learner)
    except NotFittedError:
        raise NotFittedError(
            f"learner {name} is not fitted: fit it on space.encode(configs) first"
        ) from None
    except TypeError as e:
        raise ValueError(f"learner {name} is not a scikit-learn estimator: {e}") from None
    width = getattr(learner, "n_features_in_", None)
    if width is not None and int(width) != space.encoded_width:
        raise ValueError(
            f"learner {name} was fitted on {width} features but the space encodes "
            f"{space.encoded_width}: it was fitted on a different space"
        )
    return learner


def predict_for_acquisition(
    learner: MetaLearner, X: np.ndarray, return_std: bool = True
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """One model call -> metric-scale ``(mu, sd)`` and acquisition-scale ``(z_mu, z_sd)``.

    All four are ``(n, n_targets)``. The acquisition scale is the learner's standardised
    transformed target (``predict_standardized``) when it has one: mean and std combine
    sensibly there, and a rank or log transform does not flatten the top of the ranking the
    way its back-transform to the metric's scale can (which clips at the best value seen).
    Other learners are scored on the metric's own scale.
    """
    n = len(X)
    if hasattr(learner, "predict_standardized") and hasattr(learner, "to_metric_scale"):
        out = learner.predict_standardized(X, return_std=return_std)
        z_mu, z_sd = out if return_std else (out, None)
        mu, sd = learner.to_metric_scale(z_mu, z_sd)
        return mu, sd, z_mu, z_sd
    out = learner.predict(X, return_std=return_std)
    mu, sd = out if return_std else (out, None)
    mu = np.asarray(mu, dtype=np.float64).reshape(n, -1)
    sd = None if sd is None else np.asarray(sd, dtype=np.float64).reshape(n, -1)
    return mu, sd, mu, sd


def log_h(u: np.ndarray) -> np.ndarray:
    """``log(phi(u) + u * Phi(u))``, accurate for ``|u|`` up to ~1e150 (float64).

    ``h(u) * sd`` is the expected improvement of a normal prediction ``u`` standard
    deviations above the incumbent. Computed as BoTorch's ``_log_ei_helper`` (Ament et al.,
    "Unexpected Improvements to Expected Improvement", 2023): directly for ``u > -1``; below,
    as ``log phi(u) + log(1 - |u| Phi(u) / phi(u))`` with the ratio from ``erfcx``, so it
    stays finite and increasing where ``h(u)`` itself underflows to 0 (``u < -38``).
    """
    u = np.asarray(u, dtype=np.float64)
    out = np.empty_like(u)
    up = u > -1
    uu = u[up]
    out[up] = np.log(np.exp(-0.5 * uu * uu - _LOG_SQRT_2PI) + uu * ndtr(uu))
    ul = u[~up]
    log_phi = -0.5 * ul * ul - _LOG_SQRT_2PI
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        # w = log(|u| Phi(u) / phi(u)) < 0; log(1 - e^w) the stable way for either size
        w = np.log(erfcx(-ul / math.sqrt(2)) * -ul) + _LOG_SQRT_PI_2
        log1mexp = np.where(w > -math.log(2), np.log(-np.expm1(w)), np.log1p(-np.exp(w)))
    far = ul < _U_ASYMPTOTIC  # there 1 - |u| Phi / phi = 1/u^2 to leading order
    out[~up] = log_phi + np.where(far, -2 * np.log(-ul), log1mexp)
    return out


def log_expected_improvement(a: np.ndarray, sd: np.ndarray, incumbent: float) -> np.ndarray:
    """``log E[max(f - incumbent, 0)]`` for ``f ~ N(a, sd^2)``, ``a`` signed so that higher
    is better (the std floored at :data:`EI_MIN_STD`)."""
    sd = np.maximum(np.asarray(sd, dtype=np.float64), EI_MIN_STD)
    return log_h((np.asarray(a, dtype=np.float64) - incumbent) / sd) + np.log(sd)


def acquisition_from_prediction(
    mu: np.ndarray,
    sd: np.ndarray | None,
    kind: AcquisitionKind,
    kappa: float,
    sign: float,
    incumbent: float | None = None,
) -> np.ndarray:
    """``sign * mu`` (mean), ``+ kappa * sd`` (ucb), ``- kappa * sd`` (lcb), or the log
    expected improvement of ``sign * mu`` over ``incumbent`` (ei; kappa unused)."""
    a = sign * np.asarray(mu, dtype=np.float64)
    if kind == "ucb":
        a = a + kappa * sd
    elif kind == "lcb":
        a = a - kappa * sd
    elif kind == "ei":
        a = log_expected_improvement(a, sd, check_incumbent(kind, incumbent))
    return a


def check_incumbent(kind: str, incumbent: float | None) -> float:
    """The incumbent of ``"ei"`` as a float.

    Raises:
        ValueError: it is None or not finite.
    """
    if incumbent is None:
        raise ValueError(
            f"acquisition {kind!r} needs incumbent=, the best posterior mean among the "
            "evaluated configs (metarl.learners.posterior_incumbent); none was given"
        )
    bad = isinstance(incumbent, bool) or not isinstance(incumbent, (int, float, np.floating))
    if bad or not math.isfinite(incumbent):
        raise ValueError(f"incumbent must be a finite number, got {incumbent!r}")
    return float(incumbent)


def posterior_incumbent(
    learner: MetaLearner, X: np.ndarray, direction: Direction = "minimize", target: int = 0
) -> float:
    """The incumbent ``"ei"`` improves on: the best predicted mean among evaluated configs.

    Noise-aware: a lucky noisy draw of a mediocre config does not set the bar, the learner's
    posterior mean there does. On the acquisition's scale (:func:`predict_for_acquisition`:
    the standardised target where the learner has one) and signed so that higher is better,
    as :func:`acquisition`'s scores.

    Args:
        learner: the fitted meta-learner that scores the candidates.
        X: (n, d) encoded evaluated configs, n >= 1.
        direction: the metric's direction.
        target: the objective's target column.

    Raises:
        ValueError: no evaluated config.
    """
    if len(X) == 0:
        raise ValueError("acquisition 'ei': no evaluated config to set the incumbent from")
    return float(np.max(acquisition(learner, X, "mean", 0.0, direction, target)))


def acquisition(
    learner: MetaLearner,
    X: np.ndarray,
    kind: AcquisitionKind = "mean",
    kappa: float = 1.0,
    direction: Direction = "minimize",
    target: int = 0,
    *,
    incumbent: float | None = None,
    return_prediction: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The learner's acquisition for encoded configs, signed so that higher is better.

    Args:
        learner: a fitted meta-learner.
        X: (n, d) encoded configs.
        kind: ``"mean"`` (the predicted metric), ``"ucb"`` (optimistic: mean + kappa * std
            toward the good side, to explore), ``"lcb"`` (conservative: kappa * std toward the
            bad side), ``"ei"`` (log expected improvement over ``incumbent``, as BoTorch's
            LogEI: finite and ordered also where the improvement underflows).
        kappa: weight of the predictive standard deviation (unused by ``"ei"``).
        direction: the metric's direction; a minimised metric is negated.
        target: which target column of a multi-target learner is the objective.
        incumbent: for ``"ei"`` (required there): the value to improve on, on the same
            signed scale (:func:`posterior_incumbent`).
        return_prediction: also return the prediction it came from, on the metrics' own
            scales, from the same learner call (what an environment reports in ``info``).

    Returns:
        (n,) float64, higher is better, on the scale of :func:`predict_for_acquisition`;
        with ``return_prediction``, ``(acquisition, mean, std)``, mean and std
        ``(n, n_targets)``.
    """
    check_acquisition(kind, kappa)
    sign = check_direction(direction)
    if kind == "ei":
        check_incumbent(kind, incumbent)
    if return_prediction:
        mu, sd, z_mu, z_sd = predict_for_acquisition(learner, X)
    elif kind == "mean" and hasattr(learner, "predict_standardized"):
        z_mu, z_sd = learner.predict_standardized(X), None
    else:
        _, _, z_mu, z_sd = predict_for_acquisition(learner, X, return_std=kind != "mean")
    z_mu = np.asarray(z_mu, dtype=np.float64).reshape(len(X), -1)
    sd_t = None if z_sd is None else np.asarray(z_sd).reshape(len(X), -1)[:, target]
    acq = acquisition_from_prediction(z_mu[:, target], sd_t, kind, kappa, sign, incumbent)
    return (acq, mu, sd) if return_prediction else acq
