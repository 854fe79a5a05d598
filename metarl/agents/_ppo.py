"""PPO (stable-baselines3) that learns to build good configs in the design environment."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv

from metarl.agents._ppo_file import (
    check_env_matches,
    load_sb3_model,
    model_state,
    read_policy_file,
    restore_model,
    write_policy_file,
)
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
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace, Subset
from metarl.type_aliases import AcquisitionKind, Config, ConfigMatrix, Direction


def needs_masks(space: SearchSpace) -> bool:
    """Whether the design env of ``space`` has invalid actions (conditions, decisions with
    fewer options than the action space, or a Subset with ``min_size``)."""
    sizes = {len(d.options) for d in space.decisions}
    subset_min = any(isinstance(p, Subset) and p.min_size > 0 for p in space.params.values())
    return space.conditional or len(sizes) > 1 or subset_min


class PPOPolicy(ScoredPolicy):
    """PPO on the design environment; the trained policy keeps learning across rounds.

    Each :meth:`propose` (1) builds the environment on the fresh learner, (2) trains the
    model for ``timesteps`` (the first call creates it; later calls fine-tune it through
    ``model.set_env``), (3) samples the stochastic policy for ``n_samples`` episodes plus one
    greedy (argmax) episode, and (4) dedupes, drops excluded configs, ranks by the
    acquisition and keeps a diverse top ``n``.

    Defaults are chosen for this problem: the only reward is terminal, so ``gamma=1`` (no
    discounting of the one reward) and ``gae_lambda=0.95``; episodes are short, so each
    rollout holds ``episodes_per_rollout`` whole episodes per env (``n_steps`` is that times
    the number of decisions); ``ent_coef=0.01`` keeps the policy stochastic enough for
    diverse proposals; ``n_epochs=10`` over minibatches of 256 (measured on HPOLib
    protein_structure with a forest learner: 5 epochs over 512 often settled on a config at
    98 % of the optimum, 10 over 256 reached 100 % within 6,000 steps).

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
        timesteps: training steps per :meth:`propose` (per round of the refinement loop).
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
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
        if env_id is not None:
            check_env_id(env_id)
        check_env_kwargs(env_kwargs)
        self.timesteps = timesteps
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

        ``callback`` is any SB3 callback (return False from ``_on_step`` to stop early).
        """
        seed = int(self._rng.integers(2**31))
        env = self.make_env(space, learner, direction, list(exclude or []), seed)
        with torch_threads(self.n_threads):
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
            steps = self.timesteps if timesteps is None else timesteps
            if steps > 0:
                self.model_.learn(
                    total_timesteps=steps,
                    callback=callback,
                    reset_num_timesteps=False,
                    progress_bar=self.progress_bar,
                    tb_log_name=self.name,
                )
        return self.model_

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
            configs = self._rollouts(env, self.n_samples, deterministic=False)
            configs += self._rollouts(env, 1, deterministic=True)
        M = space.to_matrix(configs)
        return M, problem.score(M)

    # ------------------------------------------------------------------ state
    def reseed(self, seed: int | None) -> None:
        """Reset the random state (the trained model is kept; see :meth:`load`)."""
        super().reseed(seed)

    def save(self, path: str | Path, *, sb3: bool = False) -> Path:
        """Write the trained policy to ``path``; returns the path written.

        The default file is a zip holding ``metadata.json`` (format, metarl version, policy
        class and constructor keywords, algorithm, observation and action spaces, the
        fingerprint of the search space trained on, timesteps so far) and ``weights.pt`` (the
        network's and the optimizer's ``state_dict``, plain tensors that :meth:`load` reads
        with ``torch.load(weights_only=True)``): loading it runs no code from the file.

        Args:
            path: file to write, exactly as named (no suffix is added).
            sb3: write SB3's own zip instead (``model.save``). Loading that format
                unpickles objects from the file, so :meth:`load` reads it only on request.

        Raises:
            ValueError: the policy has not been trained (nor loaded) yet.
        """
        path = Path(path)
        if self.model_ is None and self._loaded is None:
            raise ValueError("nothing to save: the PPO policy has not been trained yet")
        if sb3:
            if self.model_ is None:
                raise ValueError(
                    "sb3=True needs the SB3 model: call propose() once after load() first"
                )
            with path.open("wb") as f:  # a file object: SB3 would append ".zip" to a name
                self.model_.save(f)
            return path
        meta, state = self._loaded if self.model_ is None else model_state(self)
        write_policy_file(path, meta, state)
        return path

    def load(self, path: str | Path, *, sb3: bool = False) -> PPOPolicy:
        """Restore a policy written by :meth:`save`; returns ``self``.

        The file's weights are read with ``torch.load(weights_only=True)`` and its metadata is
        plain JSON. The SB3 model is rebuilt on the next :meth:`propose` (or :meth:`train`),
        which has the environment it needs; the weights and optimizer state are then loaded
        into it, so training continues (fine-tunes) from them. The network architecture
        (``net_arch``) and the algorithm come from the file; the training hyperparameters
        (``timesteps``, ``learning_rate``, ...) stay this instance's.

        Args:
            path: the file.
            sb3: read SB3's own zip (written with ``save(path, sb3=True)`` or by SB3) with
                ``PPO.load``/``MaskablePPO.load``. That unpickles objects from the file: use it
                only for files you trust. No space check is possible then.

        Raises:
            ValueError: not a policy file (or an SB3 zip without ``sb3=True``), a file of
                another metarl major version or of another policy class. A file trained on
                another search space is refused by the next :meth:`propose`.
        """
        path = Path(path)
        if sb3:
            self.model_ = load_sb3_model(path, self.device)
            self.space_fingerprint_ = None
            self._loaded = None
            return self
        meta, state = read_policy_file(path, self)
        self.net_arch = tuple(meta["params"]["net_arch"])
        self.model_ = None
        self.space_fingerprint_ = meta.get("space_fingerprint")
        self._loaded = (meta, state)
        return self

    def _restore(self, env: VecEnv, space: SearchSpace, seed: int) -> Any:
        """Build the SB3 model of a loaded file on ``env`` and load its state."""
        meta, state = self._loaded
        check_env_matches(env, meta, space.fingerprint())
        model = self._new_model(env, space, seed, algorithm=meta["algorithm"])
        self._loaded = None
        return restore_model(model, meta, state)
