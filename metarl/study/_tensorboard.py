"""TensorBoard logs of a study: the design agent's training and, per round, the learner's
quality and the search's progress.

``Study(tensorboard=DIR)`` (``metarl run`` key ``tensorboard:``, flag ``--tensorboard DIR``)
writes under ``DIR/<study_name>/``:

- ``rounds/``: one point per round (the round number is the step): ``learner/cv_spearman``
  (cross-validated rank quality on the results it was fitted on), ``learner/n_train``,
  ``learner/fit_s``, ``policy/propose_s``, ``policy/n_proposed``, ``study/best_value``
  (best so far), ``study/n_trials`` (evaluations stored), ``study/round_s``; with a focus,
  ``learner/cv_spearman_focus`` and ``learner/n_train_in_focus``; and what the policy says of
  its last training (``agent/timesteps``, ``agent/entropy``, ... of PPO's ``last_training_``).
- ``ppo_0/``: a policy that trains with SB3 (its ``tensorboard_log`` attribute, e.g. PPO)
  logs there itself, against its timesteps, which continue from round to round:
  ``train/entropy_loss``, ``train/explained_variance``, ``train/value_loss``, ... and, where
  the environment reports finished episodes as SB3's ``Monitor`` does (``info["episode"]``),
  ``rollout/ep_rew_mean`` (an episode's reward is the acquisition of the config it designed).
  PPO's ``agent/greedy_end`` in ``rounds/`` is that reward for its greedy config.

Watch them with ``tensorboard --logdir DIR``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import numbers
from pathlib import Path
from typing import Any

#: Round-record keys written as scalars, and their tags.
ROUND_TAGS = {
    "cv_spearman": "learner/cv_spearman",
    "cv_spearman_focus": "learner/cv_spearman_focus",
    "n_train": "learner/n_train",
    "n_train_in_focus": "learner/n_train_in_focus",
    "fit_s": "learner/fit_s",
    "propose_s": "policy/propose_s",
    "n_proposed": "policy/n_proposed",
    "n_done": "study/n_trials",
    "seconds": "study/round_s",
}


def check_tensorboard(logdir: Any) -> Path | None:
    """The TensorBoard folder of a study (None: no logs), checked before anything is stored.

    Raises:
        ValueError: not a path, or the tensorboard package is missing (the message says how
            to install it).
    """
    if logdir is None:
        return None
    if not isinstance(logdir, (str, Path)) or not str(logdir).strip():
        raise ValueError(f"tensorboard={logdir!r}: expected a folder path or None")
    if importlib.util.find_spec("tensorboard") is None:
        raise ValueError(
            f"tensorboard={str(logdir)!r} needs the tensorboard package: "
            "pip install 'metarl[tensorboard]'"
        )
    return Path(logdir)


class TensorBoardLog:
    """A study callback that writes each round's record as scalars, and points the policy's
    own SB3 logging (``tensorboard_log``) into the same folder.

    Args:
        folder: the study's log folder (``DIR/<study_name>``).
        policy: the study's search policy; one with a ``tensorboard_log`` attribute that is
            still None logs its training to ``folder``.
        policy_label: the round origin that means "this policy proposed" (its agent scalars
            are written only for those rounds).
    """

    def __init__(self, folder: Path, policy: Any, policy_label: str) -> None:
        self.folder = Path(folder)
        self.policy = policy
        self.policy_label = policy_label
        if hasattr(policy, "tensorboard_log") and policy.tensorboard_log is None:
            policy.tensorboard_log = str(self.folder)
        self._writer: Any = None

    def __call__(self, study: Any, record: dict[str, Any]) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.folder / "rounds"))
        step = int(record["round"])
        for tag, value in self.scalars(study, record).items():
            self._writer.add_scalar(tag, value, step)
        self._writer.flush()  # a study may run for hours: each round is visible at once

    def scalars(self, study: Any, record: dict[str, Any]) -> dict[str, float]:
        """The tags and values written for one round (finite numbers only)."""
        out: dict[str, Any] = {tag: record.get(key) for key, tag in ROUND_TAGS.items()}
        with contextlib.suppress(ValueError):  # nothing completed yet
            out["study/best_value"] = study.best_value
        if record.get("origin") == self.policy_label:
            training = getattr(self.policy, "last_training_", None) or {}
            out.update({f"agent/{k}": v for k, v in training.items()})
        return {tag: float(v) for tag, v in out.items() if _finite(v)}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _finite(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
