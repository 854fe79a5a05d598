"""Prototypes of changes to metarl's PPO policy, measured as extra contenders in
``bench_acq_optimizers.py`` (the library's ``metarl/agents/_ppo.py`` is not touched).

:class:`PPOVariant` is ``PPOPolicy`` plus, each off by default:

- ``vectorized``: the ``n_samples`` proposal episodes are drawn in one batched pass (one
  policy forward per decision over all episodes, one learner call for all of them) instead
  of stepping ``n_envs`` environments and calling ``model.predict`` per step;
- ``greedy_patience``: training stops once the greedy (argmax) rollout's acquisition has not
  improved for that many rollouts (checked after each rollout: one forward pass per
  decision and one learner call for one config);
- ``warm_elite``: before training, behaviour cloning (``bc_epochs`` passes of cross-entropy on
  the actor) on the action sequences of the best configs seen so far (the previous rounds'
  samples; in the first round, the best of ``warm_pool`` random configs).

Every round also records where its CPU time went (``diagnostics_``): SB3's ``learn`` split
into environment steps (of which learner calls), SB3's gradient updates and the rest
(policy forwards and rollout bookkeeping); then sampling; and whether the policy collapsed
(distinct configs among the samples, greedy vs best sample, mean entropy per decision).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from metarl.agents import sample_grid
from metarl.agents._ppo import PPOPolicy
from metarl.agents._scored import Problem
from metarl.agents._threads import torch_threads
from metarl.envs._state import DesignState
from metarl.space import SearchSpace


class Timer(dict):
    """CPU seconds per named section (``time.process_time``)."""

    @contextmanager
    def section(self, name: str):
        t = time.process_time()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.process_time() - t

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            with self.section(name):
                return fn(*args, **kwargs)

        return timed


def sample_episodes(
    model: Any, space: SearchSpace, n: int, deterministic: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """``n`` episodes of ``model``'s policy in one batched pass: value matrix, encodings
    and the mean entropy of the action distribution per decision."""
    state = DesignState(space, n)
    masked = type(model).__name__ == "MaskablePPO"
    got = np.zeros(n, dtype=bool)
    M = np.empty((n, space.n_columns))
    X = np.empty((n, space.encoded_width), dtype=np.float32)
    entropy = []
    with torch.no_grad():
        while not got.all():
            obs = torch.as_tensor(state.observations(), device=model.device)
            kw = {"action_masks": state.masks.copy()} if masked else {}
            dist = model.policy.get_distribution(obs, **kw)
            entropy.append(float(dist.entropy()[torch.as_tensor(~got)].mean()))
            done = state.step(dist.get_actions(deterministic=deterministic).cpu().numpy())
            new = np.flatnonzero(done & ~got)  # each row's first episode is the one kept
            M[new], X[new] = state.matrix(new), state.features(new)
            got[new] = True
            if done.any():
                state.reset(np.flatnonzero(done))
    return M, X, float(np.mean(entropy))


def behaviour_clone(model: Any, space: SearchSpace, M: np.ndarray, epochs: int) -> float:
    """Fit the actor to the action sequences building the configs ``M`` (cross-entropy,
    with the model's own optimizer); returns the last epoch's mean loss."""
    state = DesignState(space, len(M))
    choices = state.choices_of(space.snap_to_grid(M))
    masked = type(model).__name__ == "MaskablePPO"
    got = np.zeros(len(M), dtype=bool)
    obs, acts, masks = [], [], []
    while not got.all():
        a = np.maximum(choices[np.arange(len(M)), np.minimum(state.ptr, state.n_decisions - 1)], 0)
        live = ~got
        obs.append(state.observations()[live])
        acts.append(a[live])
        masks.append(state.masks[live].copy())
        done = state.step(a)
        got |= done
        if done.any():
            state.reset(np.flatnonzero(done))
    obs_t = torch.as_tensor(np.concatenate(obs), device=model.device)
    act_t = torch.as_tensor(np.concatenate(acts), device=model.device)
    mask = np.concatenate(masks)
    loss = torch.zeros(())
    for _ in range(epochs):
        kw = {"action_masks": mask} if masked else {}
        loss = -model.policy.get_distribution(obs_t, **kw).log_prob(act_t).mean()
        model.policy.optimizer.zero_grad()
        loss.backward()
        model.policy.optimizer.step()
    return float(loss)


class _GreedyStop(BaseCallback):
    """Stop ``learn`` once the greedy rollout's acquisition stops improving."""

    def __init__(self, space: SearchSpace, problem: Problem, patience: int) -> None:
        super().__init__()
        self.space, self.problem, self.patience = space, problem, patience
        self.best, self.bad, self.checks = -np.inf, 0, 0

    def _on_rollout_end(self) -> None:
        _, X, _ = sample_episodes(self.model, self.space, 1, deterministic=True)
        z = float(self.problem.score_encoded(X)[0])
        self.checks += 1
        self.bad = 0 if z > self.best + 1e-6 else self.bad + 1
        self.best = max(self.best, z)

    def _on_step(self) -> bool:
        return self.bad < self.patience


class PPOVariant(PPOPolicy):
    """``PPOPolicy`` with the prototyped changes of this module (see its docstring).

    Args:
        vectorized: sample the proposals in one batched pass.
        greedy_patience: stop training after this many rollouts without a better greedy
            config (None: train ``timesteps`` every round, as the library does).
        warm_elite: behaviour-clone this many best configs seen so far before training (0:
            off).
        warm_pool: random configs scored for the first round's elite.
        bc_epochs: behaviour-cloning passes.
        **kwargs: ``PPOPolicy``'s (``patience`` defaults to None here).
    """

    name = "ppo_variant"

    def __init__(
        self,
        *,
        vectorized: bool = False,
        greedy_patience: int | None = None,
        warm_elite: int = 0,
        warm_pool: int = 4096,
        bc_epochs: int = 50,
        **kwargs: Any,
    ) -> None:
        # the base is the fixed budget (every round trains ``finetune_timesteps``): the
        # library's own greedy stop and round skipping (``patience``) are measured as "ppo"
        super().__init__(**{"patience": None, **kwargs})
        self.vectorized = vectorized
        self.greedy_patience = greedy_patience
        self.warm_elite = warm_elite
        self.warm_pool = warm_pool
        self.bc_epochs = bc_epochs
        self.diagnostics_: list[dict[str, Any]] = []
        self._elite: tuple[np.ndarray, np.ndarray] | None = None

    def make_env(self, *args: Any, **kwargs: Any) -> Any:
        env = super().make_env(*args, **kwargs)
        env.step_wait = self._timer.wrap("env_step", env.step_wait)
        return env

    def _new_model(self, *args: Any, **kwargs: Any) -> Any:
        model = super()._new_model(*args, **kwargs)
        update = model.train  # SB3's gradient epochs, timed in the current round's timer

        def timed_update(*a: Any, **k: Any) -> Any:
            with self._timer.section("sb3_update"):
                return update(*a, **k)

        model.train = timed_update
        return model

    def unfinished_round(self) -> dict[str, Any] | None:
        """The CPU seconds of a round interrupted by the benchmark's budget, by section."""
        timer = getattr(self, "_timer", None)
        if timer is None:
            return None
        steps = 0 if self.model_ is None else self.model_.num_timesteps
        return {"unfinished": True, "steps_total": steps} | {
            f"{k}_s": round(v, 2) for k, v in timer.items()
        }

    def _clone(self, space: SearchSpace) -> float:
        return round(behaviour_clone(self.model_, space, self._elite[0], self.bc_epochs), 3)

    def _keep_elite(self, M: np.ndarray, s: np.ndarray) -> None:
        if self._elite is not None:
            M, s = np.concatenate([self._elite[0], M]), np.concatenate([self._elite[1], s])
        top = np.argsort(-s)[: self.warm_elite]
        self._elite = (M[top], s[top])

    def _candidates(self, problem: Problem) -> tuple[np.ndarray, np.ndarray]:
        space, learner = problem.space, problem.learner
        self._timer = timer = Timer()
        spent = getattr(learner, "learner_seconds_", 0.0)
        diag: dict[str, Any] = {}
        with torch_threads(self.n_threads):
            if self.warm_elite and self._elite is None:
                M = sample_grid(space, self.warm_pool, problem.rng)
                self._keep_elite(M, problem.score(M))
            if self.warm_elite and self.model_ is not None:
                with timer.section("bc"):
                    diag["bc_loss"] = self._clone(space)
            callback = None
            if self.greedy_patience is not None:
                callback = _GreedyStop(space, problem, self.greedy_patience)
            steps_before = 0 if self.model_ is None else self.model_.num_timesteps
            with timer.section("learn"):
                self.train(space, learner, direction=problem.direction, callback=callback)
            if self.warm_elite and steps_before == 0:  # first round: the model exists now
                with timer.section("bc"):
                    diag["bc_loss"] = self._clone(space)
            learner_in_learn = getattr(learner, "learner_seconds_", 0.0) - spent
            with timer.section("sampling"):
                if self.vectorized:
                    M, X, ent = sample_episodes(self.model_, space, self.n_samples)
                    Mg, Xg, _ = sample_episodes(self.model_, space, 1, deterministic=True)
                    M, X = np.concatenate([M, Mg]), np.concatenate([X, Xg])
                    scores = problem.score_encoded(X)
                else:
                    env = self.model_.get_env()
                    configs = self._rollouts(env, self.n_samples, deterministic=False)
                    configs += self._rollouts(env, 1, deterministic=True)
                    M = space.to_matrix(configs)
                    scores, ent = problem.score(M), float("nan")
        if self.warm_elite:
            self._keep_elite(M, scores)
        diag |= {
            "steps": self.model_.num_timesteps - steps_before,
            "learn_s": round(timer.get("learn", 0.0), 2),
            "env_s": round(timer.get("env_step", 0.0), 2),
            "learner_in_learn_s": round(learner_in_learn, 2),
            "sb3_update_s": round(timer.get("sb3_update", 0.0), 2),
            "sampling_s": round(timer.get("sampling", 0.0), 2),
            "bc_s": round(timer.get("bc", 0.0), 2),
            "distinct": len(np.unique(M[:-1], axis=0)),
            "greedy": round(float(scores[-1]), 3),
            "best_sample": round(float(scores[:-1].max()), 3),
            "mean_sample": round(float(scores[:-1].mean()), 3),
            "entropy": round(ent, 3),
        }
        if callback is not None:
            diag["greedy_checks"] = callback.checks
        self.diagnostics_.append(diag)
        self._timer = None  # this round is complete
        return M, scores


#: name -> PPOVariant keywords (on top of the benchmark's acquisition and seed)
VARIANTS: dict[str, dict[str, Any]] = {
    "ppo_vec": {"vectorized": True},
    "ppo_big_batch": {"vectorized": True, "n_envs": 256, "batch_size": 2048, "n_epochs": 4},
    "ppo_greedy_stop": {"vectorized": True, "greedy_patience": 2},
    "ppo_warm": {"vectorized": True, "greedy_patience": 2, "warm_elite": 64},
    # the three changes that measured best together
    "ppo_combo": {
        "vectorized": True,
        "n_envs": 256,
        "batch_size": 2048,
        "n_epochs": 4,
        "warm_elite": 64,
    },
}


def profile_ppo(
    space: SearchSpace, learner: Any, names: list[str], seed: int = 0, rounds: int = 2
) -> None:
    """Print where ``rounds`` rounds of PPO (``"ppo"``: the library's defaults, or variants
    of :data:`VARIANTS`) spend their CPU time, and the reward scale of its environment."""
    for name in names:
        kw = VARIANTS.get(name, {})
        p = PPOVariant(acquisition="ucb", kappa=2.0, seed=seed, **kw)
        learner.restart()
        for _ in range(rounds):
            p.propose(space, learner, 10, direction="maximize")
            env = p.model_.get_env()
            print(f"  reward offset {env.reward_offset_:.3f} scale {env.reward_scale_:.3f}")
        print(f"{name}: best {learner.best_:.3f} after {learner.count_} evals")
        for r, d in enumerate(p.diagnostics_):
            print(f"  round {r}: {d}")
