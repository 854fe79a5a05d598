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
  logs there itself, against its timesteps, which continue from round to round (the folder
  is its ``tensorboard_log`` only while a round runs: the policy object the user passed
  keeps the value it had):
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
from collections.abc import Iterator
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
    own SB3 logging (``tensorboard_log``) into the same folder while a round runs.

    Args:
        folder: the study's log folder (``DIR/<study_name>``).
        policy: the study's search policy; one with a ``tensorboard_log`` attribute that is
            None logs its training to ``folder`` (see :meth:`policy_logging`).
        policy_label: the round origin that means "this policy proposed" (its agent scalars
            are written only for those rounds).
    """

    def __init__(self, folder: Path, policy: Any, policy_label: str) -> None:
        self.folder = Path(folder)
        self.policy = policy
        self.policy_label = policy_label
        self._writer: Any = None

    @classmethod
    def for_study(
        cls, logdir: Path | None, study_name: str, policy: Any, policy_label: str
    ) -> TensorBoardLog | None:
        """The log of a study under ``logdir`` (a :func:`check_tensorboard` result; None: no
        log)."""
        if logdir is None:
            return None
        return cls(logdir / study_name, policy, policy_label)

    @contextlib.contextmanager
    def policy_logging(self) -> Iterator[None]:
        """For the block (a round), a policy whose ``tensorboard_log`` is None logs its SB3
        training to the folder; the attribute is None again after it. The policy is the
        user's object where they passed one: a setting of theirs is never left changed (the
        SB3 model a round builds keeps the folder, so its timesteps continue in one run)."""
        if not hasattr(self.policy, "tensorboard_log") or self.policy.tensorboard_log is not None:
            yield
            return
        self.policy.tensorboard_log = str(self.folder)
        try:
            yield
        finally:
            self.policy.tensorboard_log = None

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
