"""The stored-study format: every ``metarl:*`` user attribute a metarl study writes.

A metarl study is a plain Optuna study; ``optuna.load_study`` and optuna-dashboard read it. The
dashboard shows these keys under the study's and each trial's "User Attributes":

Study attributes (written once at creation, except the budget and the round records):

- ``metarl:space``: the search space's dict form (``SearchSpace.to_dict``).
- ``metarl:fingerprint``: a hash of the space; a study is resumed only with the same space.
- ``metarl:metric``: the objective metric (a key of the trainer's result).
- ``metarl:trainer``: the trainer's rebuildable spec (``TrainerSpec.to_dict``), absent when
  the trainer cannot be imported by name (then ``metarl worker`` cannot serve the study).
- ``metarl:settings``: learner, policy, n_init, batch_size, seed, timeout and heartbeat settings.
- ``metarl:budget``: the evaluations (COMPLETE + failed trials) the last ``optimize`` asked for.
- ``metarl:round:NNNN``: one record per refinement round (origin, training size, the
  learner's cross-validated Spearman, proposals, seconds).

Trial attributes (params are Optuna's; ``value`` is the objective metric):

- every metric the trainer returned, under its own name, plus ``metarl:seconds`` (call time);
- ``metarl:origin`` (``init``, ``random``, or the policy's name), ``metarl:round``,
  ``metarl:seed``, ``metarl:context`` (the space's context values, e.g. the dataset);
- ``metarl:worker``: ``host:pid`` of the process that evaluated the trial;
- ``metarl:error``: why a FAIL trial failed: the trainer's error or a timeout (the config is
  spent), or ``worker died: heartbeat expired`` / ``interrupted`` (the evaluation was lost,
  and the config was re-queued);
- ``metarl:requeue_of``: on a re-queued copy, the number of the trial whose evaluation was lost;
- ``metarl:replicate_of``: on a replicate (``Study(replicates=...)``, ``MetaRLSampler(replicates=
  ...)``), the number of the first COMPLETE trial of the same config, which it evaluates again
  (:data:`metarl.loop.REPLICATE_OF`; a re-queued copy keeps it);
- ``metarl:fidelity``, ``metarl:fidelity_reason``: on a space with a Fidelity, the fidelity the
  loop chose for the trial (also one of its params) and why (``design``: the initial design,
  spread over the levels; ``cheapest``, ``gain_per_cost``, ``promoted``: see
  :mod:`metarl.loop._fidelity`).

A FAIL trial without ``metarl:error`` was failed by Optuna's own stale-trial recovery; it is a
lost evaluation too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Prefix of every metarl user attribute; trainer metrics never carry it.
PREFIX = "metarl:"

# ---- study attributes
#: The search space's dict form.
SPACE = "metarl:space"
#: Hash of the space; a stored study is only resumed with the same space.
FINGERPRINT = "metarl:fingerprint"
#: The objective metric's name.
METRIC = "metarl:metric"
#: The trainer's ``TrainerSpec.to_dict()``.
TRAINER = "metarl:trainer"
#: Learner, policy and loop settings (workers read timeout and heartbeat settings from it).
SETTINGS = "metarl:settings"
#: The evaluation budget of the last ``optimize`` call.
BUDGET = "metarl:budget"
#: Prefix of the per-round records; see :func:`round_key`.
ROUND_PREFIX = "metarl:round:"

# ---- trial attributes
#: Wall-clock seconds of the trainer call.
SECONDS = "metarl:seconds"
#: Where the config came from: ``init``, ``random`` or the policy's name.
ORIGIN = "metarl:origin"
#: The round that proposed the config.
ROUND = "metarl:round"
#: The study's seed.
SEED = "metarl:seed"
#: The space's context values (meta-features such as the dataset).
CONTEXT = "metarl:context"
#: ``host:pid`` of the evaluating process.
WORKER = "metarl:worker"
#: The reason of a FAIL trial.
ERROR = "metarl:error"
#: On a re-queued copy: the number of the trial whose process died.
REQUEUE_OF = "metarl:requeue_of"

#: The fidelity the loop chose for the trial (also in its params).
FIDELITY = "metarl:fidelity"
#: Why: ``design``, ``cheapest``, ``gain_per_cost`` or ``promoted``.
FIDELITY_REASON = "metarl:fidelity_reason"

#: Reasons of a FAIL trial whose evaluation was lost (its config is evaluated again).
WORKER_DIED = "worker died: heartbeat expired"
INTERRUPTED = "interrupted"
LOST_REASONS = (WORKER_DIED, INTERRUPTED)

#: The longest error text stored (storages cap attribute sizes; the first line matters most).
MAX_ERROR_CHARS = 2000


def round_key(round_: int) -> str:
    """The study attribute of round ``round_``'s record (``metarl:round:0007``)."""
    return f"{ROUND_PREFIX}{round_:04d}"


def round_records(user_attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-round records of a study's user attributes, in round order."""
    return [user_attrs[k] for k in sorted(user_attrs) if k.startswith(ROUND_PREFIX)]


def metarl_attrs(user_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``metarl:*`` entries of a study's or trial's user attributes."""
    return {k: v for k, v in user_attrs.items() if k.startswith(PREFIX)}


#: The start of the reason of a trial failed because it holds no valid config (e.g. one
#: queued by Optuna's ``enqueue_trial`` with params outside the space): no trainer ran it.
INVALID_CONFIG = "invalid config, not evaluated"


def is_invalid(user_attrs: Mapping[str, Any]) -> bool:
    """Whether a FAIL trial was failed for holding no valid config (not by its trainer)."""
    return str(user_attrs.get(ERROR, "")).startswith(INVALID_CONFIG)


def is_lost(user_attrs: Mapping[str, Any]) -> bool:
    """Whether a FAIL trial's evaluation was lost (dead or interrupted process) rather than
    failed by its trainer: then its config is owed a re-queued copy."""
    error = user_attrs.get(ERROR)
    return error is None or str(error).startswith(LOST_REASONS)
