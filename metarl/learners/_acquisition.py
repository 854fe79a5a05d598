"""The acquisition of a fitted meta-learner, shared by the design environments and the
search policies: one definition of "how good is this config predicted to be".

The ``acquisition=`` keyword (``"mean"``, ``"ucb"`` or ``"lcb"``) names it everywhere: in
:func:`acquisition`, the policies, the design environments and ``Problem``."""

from __future__ import annotations

import math

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace
from metarl.type_aliases import AcquisitionKind, Direction

ACQUISITION_KINDS: tuple[AcquisitionKind, ...] = ("mean", "ucb", "lcb")


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


def acquisition_from_prediction(
    mu: np.ndarray, sd: np.ndarray | None, kind: AcquisitionKind, kappa: float, sign: float
) -> np.ndarray:
    """``sign * mu`` (mean), ``+ kappa * sd`` (ucb) or ``- kappa * sd`` (lcb)."""
    a = sign * np.asarray(mu, dtype=np.float64)
    if kind == "ucb":
        a = a + kappa * sd
    elif kind == "lcb":
        a = a - kappa * sd
    return a


def acquisition(
    learner: MetaLearner,
    X: np.ndarray,
    kind: AcquisitionKind = "mean",
    kappa: float = 1.0,
    direction: Direction = "minimize",
    target: int = 0,
    *,
    return_prediction: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The learner's acquisition for encoded configs, signed so that higher is better.

    Args:
        learner: a fitted meta-learner.
        X: (n, d) encoded configs.
        kind: ``"mean"`` (the predicted metric), ``"ucb"`` (optimistic: mean + kappa * std
            toward the good side, to explore), ``"lcb"`` (conservative: kappa * std toward the
            bad side).
        kappa: weight of the predictive standard deviation.
        direction: the metric's direction; a minimised metric is negated.
        target: which target column of a multi-target learner is the objective.
        return_prediction: also return the prediction it came from, on the metrics' own
            scales, from the same learner call (what an environment reports in ``info``).

    Returns:
        (n,) float64, higher is better, on the scale of :func:`predict_for_acquisition`;
        with ``return_prediction``, ``(acquisition, mean, std)``, mean and std
        ``(n, n_targets)``.
    """
    check_acquisition(kind, kappa)
    sign = check_direction(direction)
    if return_prediction:
        mu, sd, z_mu, z_sd = predict_for_acquisition(learner, X)
    elif kind == "mean" and hasattr(learner, "predict_standardized"):
        z_mu, z_sd = learner.predict_standardized(X), None
    else:
        _, _, z_mu, z_sd = predict_for_acquisition(learner, X, return_std=kind != "mean")
    z_mu = np.asarray(z_mu, dtype=np.float64).reshape(len(X), -1)
    sd_t = None if z_sd is None else np.asarray(z_sd).reshape(len(X), -1)[:, target]
    acq = acquisition_from_prediction(z_mu[:, target], sd_t, kind, kappa, sign)
    return (acq, mu, sd) if return_prediction else acq
