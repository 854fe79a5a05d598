"""PPO's episodes without SB3's step loop: the proposals drawn in one batched pass, and the
greedy probe that stops training once the policy's argmax config stops improving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BaseModel

from metarl.envs._state import DesignState
from metarl.space import SearchSpace
from metarl.type_aliases import ConfigMatrix


class Designs(NamedTuple):
    """Configs built by a policy's episodes."""

    #: (m, n_columns) value matrix.
    M: ConfigMatrix
    #: (m, encoded_width) float32 encodings (``space.encode_matrix(M)``).
    X: np.ndarray
    #: (m,) uint64 keys (``DesignState.keys``), what the design reward's exclusion reads.
    keys: np.ndarray
    #: mean entropy (nats) of the stochastic episodes' action distributions per decision.
    entropy: float


def sample_designs(
    model: Any,
    space: SearchSpace,
    n: int,
    rng: np.random.Generator,
    *,
    n_greedy: int = 0,
) -> Designs:
    """``n`` stochastic and ``n_greedy`` greedy (argmax) episodes of ``model``'s policy in
    the design environment, all built in lockstep.

    One policy forward per decision over the whole batch (never ``model.predict`` per env
    step); the actions are drawn with ``rng`` from the action probabilities (masked for
    ``MaskablePPO``), so the configs depend only on the network's weights and ``rng``, not on
    torch's global random state.

    Args:
        model: a trained SB3 ``PPO`` or ``MaskablePPO`` of ``space``'s design environment.
        space: the search space.
        n: stochastic episodes.
        rng: the generator of the stochastic actions.
        n_greedy: greedy episodes, the last rows (all alike: the policy's argmax config).

    Returns:
        The ``n + n_greedy`` configs, greedy ones last.
    """
    total = n + n_greedy
    state = DesignState(space, total)
    masked = type(model).__name__ == "MaskablePPO"
    greedy = np.arange(total) >= n
    got = np.zeros(total, dtype=bool)
    M = np.empty((total, space.n_columns))
    X = np.empty((total, space.encoded_width), dtype=np.float32)
    keys = np.empty(total, dtype=np.uint64)
    entropy: list[float] = []
    policy = model.policy
    with torch.no_grad():
        while not got.all():
            obs = torch.as_tensor(state.observations(), device=model.device)
            # the actor's logits, without SB3's distribution objects (their normalisation
            # and masking cost more than the network on a batch this size)
            latent = policy.mlp_extractor.forward_actor(
                BaseModel.extract_features(policy, obs, policy.pi_features_extractor)
            )
            logits = policy.action_net(latent)
            if masked:
                mask = torch.as_tensor(state.masks, device=logits.device)
                logits = logits.masked_fill(~mask, -torch.inf)
            probs = torch.softmax(logits.double(), dim=1).cpu().numpy()
            live = ~got & ~greedy
            if live.any():
                p = probs[live]
                entropy.append(float(-(p * np.log(np.where(p > 0, p, 1.0))).sum(1).mean()))
            cum = np.cumsum(probs, axis=1)
            u = rng.random(total)[:, None] * cum[:, -1:]
            actions = np.minimum((cum < u).sum(axis=1), probs.shape[1] - 1)
            actions[greedy] = probs[greedy].argmax(axis=1)
            done = state.step(actions)
            new = np.flatnonzero(done & ~got)  # each row's first episode is the one kept
            M[new], X[new], keys[new] = state.matrix(new), state.features(new), state.keys(new)
            got[new] = True
            if done.any():  # finished rows restart (conditional episodes differ in length)
                state.reset(np.flatnonzero(done))
    return Designs(M, X, keys, float(np.mean(entropy)) if entropy else 0.0)


class GreedyStop(BaseCallback):
    """Stops ``learn`` once the policy's greedy config stops improving (SB3's callback
    convention: ``_on_step`` returning False ends training).

    At the start of every rollout (so after every gradient update but the first rollout's)
    ``probe(model)`` scores the policy's greedy config; once ``patience`` probes in a row
    have not beaten the best so far by more than ``tol``, the next step stops training.

    Args:
        probe: the reward of the current model's greedy config (higher is better).
        patience: probes without improvement before stopping.
        tol: the least gain that counts as an improvement (reward units).

    Attributes:
        values: every probe's value, in order.
        stopped: whether this callback ended training.
    """

    def __init__(self, probe: Callable[[Any], float], patience: int, tol: float = 0.0) -> None:
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience!r}")
        self.probe = probe
        self.patience = patience
        self.tol = tol
        self.values: list[float] = []
        self.stopped = False
        self._best = -np.inf
        self._stale = 0

    def _on_rollout_start(self) -> None:
        value = float(self.probe(self.model))
        self.values.append(value)
        if len(self.values) > 1:  # the first probe is the baseline, before any update
            self._stale = 0 if value > self._best + self.tol else self._stale + 1
        self._best = max(self._best, value)

    def _on_step(self) -> bool:
        self.stopped = self._stale >= self.patience
        return not self.stopped
