"""PPO (stable-baselines3) that learns to build good configs in the design environment."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import VecEnv

from metarl.agents._ppo_file import PolicyFileMixin
from metarl.agents._ppo_rollout import GreedyStop, sample_designs
from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._threads import torch_threads
from metarl.envs._contract import (
    CONFIG_INFO_KEY,
    DesignEnvKwargs,
    check_env_id,
    check_env_kwargs,
    make_design_vec_env,
    offers_action_masks,
)
from metarl.envs._reward import check_design_acquisition
from metarl.envs._vec import DesignVecEnv
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace, Subset
from metarl.type_aliases import AcquisitionKind, Config, ConfigMatrix, Direction


def needs_masks(space: SearchSpace) -> bool:
    """Whether the design env of ``space`` has invalid actions (conditions, decisions with
    fewer options than the action space, or a Subset with ``min_size``)."""
    sizes = {len(d.options) for d in space.decisions}
    subset_min = any(isinstance(p, Subset) and p.min_size > 0 for p in space.params.values())
    return space.conditional or len(sizes) > 1 or subset_min


class PPOPolicy(PolicyFileMixin, ScoredPolicy):
    """PPO on the design environment; the trained policy keeps learning across rounds.

    Each :meth:`propose` (1) builds the environment on the fresh learner, (2) trains the
    model (the first call creates it; later calls fine-tune it through ``model.set_env``),
    (3) samples the stochastic policy for ``n_samples`` episodes plus one greedy (argmax)
    episode, and (4) dedupes, drops excluded configs, ranks by the acquisition and keeps a
    diverse top ``n``.

    Training is amortised over rounds: the first round trains at most ``timesteps`` steps,
    each later round fine-tunes the same model for at most ``finetune_timesteps``. With
    ``patience`` (the default), a round stops once the greedy config's reward has not
    improved for ``patience`` rollouts in a row
    (:class:`~metarl.agents._ppo_rollout.GreedyStop`), and a later round first scores the
    greedy config on the new learner: when its reward is within ``retrain_tol`` of where the
    previous round left it, the learner did not move it and the round trains nothing (an
    evaluated config is penalised, so a proposed greedy config always counts as moved). In
    the built-in environment the proposals are drawn in one batched pass (one policy
    forward per decision over all episodes, one learner call), with actions drawn from the
    policy's seeded generator, so that a seed replays its proposals (torch runs on
    ``n_threads`` threads, whatever the machine's count).

    Defaults are chosen for this problem: the only reward is terminal, so ``gamma=1`` (no
    discounting of the one reward) and ``gae_lambda=0.95``; episodes are short, so each
    rollout holds ``episodes_per_rollout`` whole episodes per env (``n_steps`` is that times
    the number of decisions); ``ent_coef=0.01`` keeps the policy stochastic enough for
    diverse proposals; ``n_epochs=10`` over minibatches of 256 (measured on HPOLib
    protein_structure with a forest learner: 5 epochs over 512 often settled on a config at
    98 % of the optimum, 10 over 256 reached 100 % within 6,000 steps). The round budget
    was measured on the 2**73 sklearn digits space, GP learner, UCB, batch size 1, ten
    rounds (``benchmarks/bench_ppo_overhead.py --parts rounds``): skipping rounds whose
    greedy config held and stopping after two rollouts without gain costs ~0.5 CPU seconds
    in most later rounds (50,000 steps every round cost ~9), for a proposal acquisition a
    few hundredths of a standard deviation below; one rollout every round, or no training
    after the first, lost more, and so did 5 epochs (or 4 over 512) instead of 10 over 256.
    Inside a real ``MetaRLSampler`` run the evaluated proposal is often the greedy config,
    whose acquisition then falls, so most rounds still train: ~8 CPU seconds per trial
    (median) against ~14 before, far from Optuna TPE's ~0.01.

    ``algorithm="auto"`` trains ``MaskablePPO`` (sb3-contrib) when the environment offers
    ``action_masks()``, plain PPO otherwise; in the built-in ``DesignVecEnv`` only when the
    space has invalid actions (:func:`needs_masks`: without them plain PPO is the same and
    faster). ``"ppo"`` forces plain PPO; ``"maskable_ppo"`` requires the masks.

    Own environment formulation: ``env_id`` names any registered Gymnasium env that follows
    the plug-in contract of :mod:`metarl.envs` (its constructor takes every keyword of
    :class:`~metarl.envs.DesignEnvKwargs`, plus ``env_kwargs``; its episodes end with the
    finished config in ``info["config"]``). The id is checked when the policy is built, so a
    namespace that is not registered fails before any trial is trained. The default
    (``None``) is ``DesignVecEnv``: ``metarl/Design-v0`` stepped in lockstep in numpy.

    Args:
        timesteps: the most training steps of the first round.
        finetune_timesteps: the most training steps of each later round (None: one
            rollout, ``n_envs * n_steps``; SB3 always finishes the rollout it started).
        patience: rollouts without a better greedy config before a round stops training
            (None: every round trains its whole budget, and none is skipped). Only in the
            built-in environment: a plug-in ``env_id`` always trains the whole budget.
        retrain_tol: how far (reward units: standard deviations of the acquisition over
            random configs) the greedy config's reward may fall on a new learner before a
            later round trains.
        n_envs: episodes run in lockstep.
        n_samples: stochastic episodes sampled for the proposals.
        algorithm: ``"auto"``, ``"ppo"`` or ``"maskable_ppo"``.
        learning_rate, gamma, gae_lambda, ent_coef, n_epochs, batch_size, net_arch: PPO's.
        episodes_per_rollout: whole episodes per env in each rollout (sets ``n_steps``).
        env_id: a registered Gymnasium env id to train in instead of ``DesignVecEnv``.
        env_kwargs: extra keywords for the environment (e.g. ``constraints``); not those
            of the contract, which the policy sets.
        tensorboard_log, progress_bar, verbose: passed to SB3.
        device: torch device of the policy network (``"auto"``: CUDA when present).
        n_threads: torch CPU threads while training and sampling (restored afterwards; 1 is
            fastest for these small networks, above all on a shared CPU); None leaves it.
        acquisition, kappa, min_distance, seed: see :class:`ScoredPolicy`; the env is
            built with the same ``acquisition`` and ``kappa``, so PPO optimises what ranks
            its proposals.

    Raises:
        ValueError: an unknown ``algorithm``; an ``env_id`` that is not registered (or
            whose constructor lacks keywords of the contract); ``env_kwargs`` that set a
            keyword of the contract.
    """

    name = "ppo"

    def __init__(
        self,
        *,
        timesteps: int = 50_000,
        finetune_timesteps: int | None = 50_000,
        patience: int | None = 2,
        retrain_tol: float = 0.25,
        n_envs: int = 64,
        n_samples: int = 4096,
        algorithm: str = "auto",
        learning_rate: float = 1e-3,
        gamma: float = 1.0,
        gae_lambda: float = 0.95,
        ent_coef: float = 0.01,
        n_epochs: int = 10,
        batch_size: int = 256,
        net_arch: tuple[int, ...] = (64, 64),
        episodes_per_rollout: int = 2,
        env_id: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
        tensorboard_log: str | None = None,
        progress_bar: bool = False,
        verbose: int = 0,
        device: str = "auto",
        n_threads: int | None = 1,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        if algorithm not in ("auto", "ppo", "maskable_ppo"):
            raise ValueError(
                f"algorithm must be 'auto', 'ppo' or 'maskable_ppo', got {algorithm!r}"
            )
        check_design_acquisition(acquisition, kappa)  # "ei": no incumbent in the env's reward
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        if env_id is not None:
            check_env_id(env_id)
        check_env_kwargs(env_kwargs)
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be None or >= 1, got {patience!r}")
        self.timesteps = timesteps
        self.finetune_timesteps = finetune_timesteps
        self.patience = patience
        self.retrain_tol = retrain_tol
        self.n_envs = n_envs
        self.n_samples = n_samples
        self.algorithm = algorithm
        self.learning_rate = learning_rate
        self.gamma = gamma
        self.gae_lambda = gae_lambda
        self.ent_coef = ent_coef
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.net_arch = net_arch
        self.episodes_per_rollout = episodes_per_rollout
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.tensorboard_log = tensorboard_log
        self.progress_bar = progress_bar
        self.verbose = verbose
        self.device = device
        self.n_threads = n_threads
        self.model_: Any = None
        #: what the last round's training did: ``first`` (round), ``timesteps`` trained,
        #: ``skipped`` (the greedy config held on the new learner), ``stopped`` (early, by
        #: ``patience``), ``greedy`` (the greedy config's reward at each probe); and of its
        #: samples (built-in env): ``entropy`` (mean per decision) and ``distinct`` configs.
        self.last_training_: dict[str, Any] = {}
        self.space_fingerprint_: str | None = None
        self._loaded: tuple[dict[str, Any], dict[str, Any]] | None = None

    # ------------------------------------------------------------------ environment
    def make_env(
        self,
        space: SearchSpace,
        learner: MetaLearner,
        direction: Direction,
        exclude: list[Config],
        seed: int,
    ) -> VecEnv:
        """The vectorised training environment on ``learner``'s acquisition, built through
        the plug-in contract (:class:`~metarl.envs.DesignEnvKwargs`, plus ``env_kwargs``)."""
        kwargs = DesignEnvKwargs(
            space=space,
            learner=learner,
            direction=direction,
            acquisition=self.acquisition,
            kappa=self.kappa,
            exclude=exclude,
            render_mode=None,
        )
        return make_design_vec_env(self.env_id, self.n_envs, seed, kwargs, self.env_kwargs)

    def _masked(self, env: VecEnv, space: SearchSpace) -> bool:
        """Whether to train MaskablePPO in ``env`` (see the class docstring)."""
        if self.algorithm == "ppo":
            return False
        offers = offers_action_masks(env)
        if self.algorithm == "maskable_ppo" and not offers:
            raise ValueError(
                f"algorithm='maskable_ppo' needs an environment with action_masks(); "
                f"env {self.env_id!r} has none (use algorithm='auto' or 'ppo')"
            )
        if self.algorithm == "maskable_ppo" or self.env_id is not None:
            return offers
        return offers and needs_masks(space)

    def _new_model(
        self, env: VecEnv, space: SearchSpace, seed: int, algorithm: str | None = None
    ) -> Any:
        n_decisions = len(space.decisions)
        n_steps = max(2, self.episodes_per_rollout * n_decisions)
        kwargs = dict(
            learning_rate=self.learning_rate,
            n_steps=n_steps,
            batch_size=min(self.batch_size, n_steps * env.num_envs),
            n_epochs=self.n_epochs,
            gamma=self.gamma,
            gae_lambda=self.gae_lambda,
            ent_coef=self.ent_coef,
            policy_kwargs={"net_arch": list(self.net_arch)},
            tensorboard_log=self.tensorboard_log,
            verbose=self.verbose,
            device=self.device,
            seed=seed,
        )
        masked = self._masked(env, space) if algorithm is None else algorithm == "MaskablePPO"
        if masked:
            from sb3_contrib import MaskablePPO

            return self._with_logger(MaskablePPO("MlpPolicy", env, **kwargs))
        return self._with_logger(PPO("MlpPolicy", env, **kwargs))

    def _with_logger(self, model: Any) -> Any:
        """Without ``tensorboard_log``, log to stdout (``verbose``) or nowhere: SB3's default
        logger would create a fresh ``SB3-<date>`` folder in the temp dir at every round."""
        if self.tensorboard_log is None:
            from stable_baselines3.common.logger import HumanOutputFormat, Logger

            formats = [HumanOutputFormat(sys.stdout)] if self.verbose else []
            model.set_logger(Logger(folder=None, output_formats=formats))
        return model

    # ------------------------------------------------------------------ propose
    def train(
        self,
        space: SearchSpace,
        learner: MetaLearner,
        *,
        direction: Direction = "minimize",
        exclude: list[Config] | None = None,
        timesteps: int | None = None,
        callback: Any = None,
    ) -> Any:
        """Train (or fine-tune) the model on ``learner``'s acquisition; returns the model.

        Args:
            space, learner, direction, exclude: the round's problem.
            timesteps: the most steps to train (default: ``timesteps`` in the first round,
                ``finetune_timesteps`` after it; see the class docstring).
            callback: any SB3 callback (return False from ``_on_step`` to stop early).
        """
        seed = int(self._rng.integers(2**31))
        env = self.make_env(space, learner, direction, list(exclude or []), seed)
        with torch_threads(self.n_threads):
            first = self.model_ is None and self._loaded is None
            if self.model_ is None and self._loaded is not None:
                self.model_ = self._restore(env, space, seed)
            elif self.model_ is None:
                self.model_ = self._new_model(env, space, seed)
            else:
                old, new = self.model_.observation_space, env.observation_space
                if old.shape != new.shape or self.model_.action_space != env.action_space:
                    raise ValueError(
                        f"the PPO model was trained on another space (observation shape "
                        f"{old.shape}, now {new.shape}); use a new policy for this space"
                    )
                self.model_.set_env(env)
                self.model_.set_random_seed(seed)  # each round's draw, so resumes replay it
            self.space_fingerprint_ = space.fingerprint()
            if timesteps is None and first:
                timesteps = self.timesteps
            elif timesteps is None:  # None: one rollout (learn stops once it reaches 1)
                timesteps = 1 if self.finetune_timesteps is None else self.finetune_timesteps
            self._learn(env, space, timesteps, callback, first)
        return self.model_

    def _learn(self, env: VecEnv, space: SearchSpace, steps: int, callback: Any, first: bool):
        """Run SB3's ``learn`` for at most ``steps``, stopped early by :class:`GreedyStop`
        (built-in env, ``patience`` set), or skipped when the greedy config held."""
        probe = self._greedy_probe(env, space) if self.patience is not None else None
        before = self.model_.num_timesteps
        record: dict[str, Any] = {"first": first, "skipped": False, "stopped": False}
        stop = None
        if probe is not None and steps > 0:
            stop = GreedyStop(probe, self.patience)
            if not first and "greedy_end" in self.last_training_:
                now = probe(self.model_)
                record["skipped"] = now >= self.last_training_["greedy_end"] - self.retrain_tol
                steps = 0 if record["skipped"] else steps
        if steps > 0:
            callbacks = [c for c in (stop, callback) if c is not None]
            self.model_.learn(
                total_timesteps=steps,
                callback=CallbackList(callbacks) if callbacks else None,
                reset_num_timesteps=False,
                progress_bar=self.progress_bar,
                tb_log_name=self.name,
            )
        if stop is not None:
            record.update(stopped=stop.stopped, greedy=[round(v, 4) for v in stop.values])
        if probe is not None:
            record["greedy_end"] = probe(self.model_)
        record["timesteps"] = self.model_.num_timesteps - before
        self.last_training_ = record

    def _greedy_probe(self, env: VecEnv, space: SearchSpace) -> Any:
        """The reward of a model's greedy config in ``env`` (None for a plug-in env)."""
        if not isinstance(env, DesignVecEnv):
            return None

        def probe(model: Any) -> float:
            d = sample_designs(model, space, 0, np.random.default_rng(0), n_greedy=1)
            return float(env.reward.rewards(d.X, d.keys).reward[0])

        return probe

    def _rollouts(self, env: VecEnv, n_episodes: int, deterministic: bool) -> list[Config]:
        """Configs of ``n_episodes`` episodes of the current model in ``env``."""
        masked = self._masked_model()
        obs = env.reset()
        configs: list[Config] = []
        while len(configs) < n_episodes:
            masks = np.stack(env.env_method("action_masks")) if masked else None
            kw = {"action_masks": masks} if masked else {}
            actions, _ = self.model_.predict(obs, deterministic=deterministic, **kw)
            obs, _, dones, infos = env.step(actions)
            for done, info in zip(dones, infos):
                if done and CONFIG_INFO_KEY not in info:
                    raise ValueError(
                        f"env {self.env_id!r} ended an episode without info"
                        f"[{CONFIG_INFO_KEY!r}], the finished config the plug-in env contract "
                        "asks for (see metarl.envs.DesignEnvKwargs)"
                    )
                configs += [info[CONFIG_INFO_KEY]] if done else []
        return configs[:n_episodes]

    def _masked_model(self) -> bool:
        return type(self.model_).__name__ == "MaskablePPO"

    def _candidates(self, problem: Problem) -> tuple[ConfigMatrix, np.ndarray]:
        space = problem.space
        with torch_threads(self.n_threads):
            self.train(
                space,
                problem.learner,
                direction=problem.direction,
                exclude=list(problem.exclude_configs),
            )
            env = self.model_.get_env()
            if isinstance(env, DesignVecEnv):  # one batched pass, no SB3 step loop
                d = sample_designs(self.model_, space, self.n_samples, problem.rng, n_greedy=1)
                distinct = len(np.unique(d.keys[: self.n_samples]))
                self.last_training_.update(entropy=round(d.entropy, 4), distinct=distinct)
                return d.M, problem.score_encoded(d.X)
            configs = self._rollouts(env, self.n_samples, deterministic=False)
            configs += self._rollouts(env, 1, deterministic=True)
        M = space.to_matrix(configs)
        return M, problem.score(M)

    # ------------------------------------------------------------------ state
    def reseed(self, seed: int | None) -> None:
        """Reset the random state (the trained model is kept; see :meth:`load`)."""
        super().reseed(seed)
