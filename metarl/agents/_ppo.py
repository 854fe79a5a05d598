"""PPO (stable-baselines3) that learns to build good configs in the design environment."""

from __future__ import annotations

import inspect
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv

from metarl.agents._scored import Problem, ScoredPolicy
from metarl.agents._threads import torch_threads
from metarl.learners._base import MetaLearner
from metarl.space import SearchSpace, Subset
from metarl.type_aliases import Config, ConfigMatrix, Direction

#: ``format`` of the ``metadata.json`` of a file written by :meth:`PPOPolicy.save`.
POLICY_FORMAT = "metarl-ppo-policy"
POLICY_FORMAT_VERSION = 1


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
    98 % of the optimum, 10 over 256 reached 100 % within 6,000 steps). MaskablePPO
    (sb3-contrib) is used when the space has invalid actions (see :func:`needs_masks`),
    plain PPO otherwise (``algorithm`` forces either).

    Own environment formulation: ``env_id`` names any registered Gymnasium env whose
    constructor accepts ``space=``, ``learner=``, ``direction=`` (plus ``env_kwargs``);
    its episodes must end with ``info["config"]`` holding the finished config, and with
    MaskablePPO it must offer ``action_masks()``. The default is ``DesignVecEnv``.

    Args:
        timesteps: training steps per :meth:`propose` (per round of the refinement loop).
        n_envs: episodes run in lockstep.
        n_samples: stochastic episodes sampled for the proposals.
        algorithm: ``"auto"``, ``"ppo"`` or ``"maskable_ppo"``.
        learning_rate, gamma, gae_lambda, ent_coef, n_epochs, batch_size, net_arch: PPO's.
        episodes_per_rollout: whole episodes per env in each rollout (sets ``n_steps``).
        env_id: a registered Gymnasium env id to train in instead of ``DesignVecEnv``.
        env_kwargs: extra keywords for the environment (e.g. ``constraints``).
        tensorboard_log, progress_bar, verbose: passed to SB3.
        device: torch device of the policy network (``"auto"``: CUDA when present).
        n_threads: torch CPU threads while training and sampling (restored afterwards; 1 is
            fastest for these small networks, above all on a shared CPU); None leaves it.
        acquisition, kappa, min_distance, seed: see :class:`ScoredPolicy`; the env's reward
            uses the same acquisition.
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
        acquisition: str = "mean",
        kappa: float = 1.0,
        min_distance: int = 2,
        seed: int | None = None,
    ) -> None:
        if algorithm not in ("auto", "ppo", "maskable_ppo"):
            raise ValueError(
                f"algorithm must be 'auto', 'ppo' or 'maskable_ppo', got {algorithm!r}"
            )
        super().__init__(acquisition=acquisition, kappa=kappa, min_distance=min_distance, seed=seed)
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
    def _masked(self, space: SearchSpace) -> bool:
        if self.algorithm == "auto":
            return needs_masks(space)
        return self.algorithm == "maskable_ppo"

    def make_env(
        self,
        space: SearchSpace,
        learner: MetaLearner,
        direction: Direction,
        exclude: list[Config],
        seed: int,
    ) -> VecEnv:
        """The vectorised training environment on ``learner``'s acquisition.

        Every environment, ``metarl/Design-v0`` or a plug-in ``env_id``, receives the keywords
        ``space, learner, direction, reward, kappa, exclude`` (plus ``env_kwargs``).
        """
        kwargs = {"space": space, "learner": learner, "direction": direction}
        kwargs.update(self.env_kwargs or {})
        kwargs.setdefault("reward", self.acquisition)
        kwargs.setdefault("kappa", self.kappa)
        kwargs.setdefault("exclude", exclude)
        if self.env_id is not None:
            kwargs.setdefault("render_mode", None)  # make_vec_env would ask for "rgb_array"
            return make_vec_env(self.env_id, n_envs=self.n_envs, seed=seed, env_kwargs=kwargs)
        from metarl.envs import DesignVecEnv

        env = DesignVecEnv(n_envs=self.n_envs, **kwargs)
        env.seed(seed)
        return env

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
        masked = self._masked(space) if algorithm is None else algorithm == "MaskablePPO"
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
            configs += [info["config"] for done, info in zip(dones, infos) if done]
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
        meta, state = self._loaded if self.model_ is None else self._state()
        buf = io.BytesIO()
        torch.save(state, buf)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("metadata.json", json.dumps(meta, indent=2))
            zf.writestr("weights.pt", buf.getvalue())
        return path

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Metadata and tensors of the current model."""
        from metarl import __version__

        model = self.model_
        action = model.action_space
        meta = {
            "format": POLICY_FORMAT,
            "format_version": POLICY_FORMAT_VERSION,
            "metarl_version": __version__,
            "policy": f"{type(self).__module__}.{type(self).__qualname__}",
            "params": _json_params(self),
            "algorithm": type(model).__name__,
            "observation_shape": list(model.observation_space.shape),
            "action_space": {
                "type": type(action).__name__,
                "nvec": np.atleast_1d(getattr(action, "nvec", getattr(action, "n", 0))).tolist(),
            },
            "space_fingerprint": self.space_fingerprint_,
            "num_timesteps": int(model.num_timesteps),
            "n_updates": int(getattr(model, "_n_updates", 0)),
        }
        state = {
            "policy": {k: v.detach().cpu() for k, v in model.policy.state_dict().items()},
            "optimizer": model.policy.optimizer.state_dict(),
        }
        return meta, state

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
        files, meta = _read_zip(path)
        if sb3:
            return self._load_sb3(path, files)
        if meta is None:
            hint = (
                "an SB3 model zip, whose loader unpickles code; pass sb3=True if you trust it"
                if "data" in files
                else "no metadata.json"
            )
            raise ValueError(f"{path}: not a metarl policy file ({hint})")
        if meta.get("format") != POLICY_FORMAT:
            raise ValueError(f"{path}: not a metarl policy file (format {meta.get('format')!r})")
        from metarl import __version__

        saved = str(meta.get("metarl_version"))
        if saved.split(".")[0] != __version__.split(".")[0]:
            raise ValueError(
                f"{path}: written by metarl {saved}, cannot load with metarl {__version__} "
                "(major versions differ); train a new policy"
            )
        mine = f"{type(self).__module__}.{type(self).__qualname__}"
        if meta.get("policy") != mine:
            raise ValueError(f"{path}: a {meta.get('policy')} file, not a {mine} one")
        if meta.get("algorithm") not in _ALGORITHMS:
            raise ValueError(f"{path}: unknown algorithm {meta.get('algorithm')!r}")
        with zipfile.ZipFile(path) as zf:
            state = torch.load(
                io.BytesIO(zf.read("weights.pt")), map_location="cpu", weights_only=True
            )
        self.net_arch = tuple(meta["params"]["net_arch"])
        self.model_ = None
        self.space_fingerprint_ = meta.get("space_fingerprint")
        self._loaded = (meta, state)
        return self

    def _load_sb3(self, path: Path, files: set[str]) -> PPOPolicy:
        if "data" not in files:
            raise ValueError(f"{path}: not an SB3 model file (no 'data' entry)")
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("data"))
        module = str(data.get("policy_class", {}).get("__module__", ""))
        cls: Any = PPO
        if module.startswith("sb3_contrib"):
            from sb3_contrib import MaskablePPO

            cls = MaskablePPO
        self.model_ = cls.load(str(path), device=self.device)
        self.space_fingerprint_ = None
        self._loaded = None
        return self

    def _restore(self, env: VecEnv, space: SearchSpace, seed: int) -> Any:
        """Build the SB3 model of a loaded file on ``env`` and load its state."""
        meta, state = self._loaded
        fp = space.fingerprint()
        if meta.get("space_fingerprint") not in (None, fp):
            raise ValueError(
                f"the loaded PPO policy was trained on another search space (fingerprint "
                f"{meta['space_fingerprint']}, this space {fp}); use a new policy for this space"
            )
        _check_spaces(env, meta["observation_shape"], meta["action_space"])
        model = self._new_model(env, space, seed, algorithm=meta["algorithm"])
        model.policy.load_state_dict(state["policy"])
        if state.get("optimizer"):
            model.policy.optimizer.load_state_dict(state["optimizer"])
        model.num_timesteps = int(meta.get("num_timesteps", 0))
        model._n_updates = int(meta.get("n_updates", 0))
        self._loaded = None
        return model


_ALGORITHMS = ("PPO", "MaskablePPO")


def _json_params(policy: PPOPolicy) -> dict[str, Any]:
    """The policy's constructor keywords that JSON can hold (others are recorded as their
    ``repr``, for information only)."""
    out: dict[str, Any] = {}
    for name in inspect.signature(type(policy).__init__).parameters:
        if name == "self" or not hasattr(policy, name):
            continue
        value = getattr(policy, name)
        value = list(value) if isinstance(value, tuple) else value
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = {"repr": repr(value)}
        out[name] = value
    return out


def _read_zip(path: Path) -> tuple[set[str], dict[str, Any] | None]:
    """The entry names of a zip and its ``metadata.json`` (None when absent)."""
    try:
        with zipfile.ZipFile(path) as zf:
            files = set(zf.namelist())
            meta = json.loads(zf.read("metadata.json")) if "metadata.json" in files else None
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a metarl policy file ({e})") from None
    if meta is not None and not isinstance(meta, dict):
        raise ValueError(f"{path}: not a metarl policy file (metadata is not an object)")
    return files, meta


def _check_spaces(env: VecEnv, obs_shape: list[int], action: dict[str, Any]) -> None:
    here = list(env.observation_space.shape)
    nvec = np.atleast_1d(getattr(env.action_space, "nvec", getattr(env.action_space, "n", 0)))
    if here != list(obs_shape) or nvec.tolist() != list(action.get("nvec", [])):
        raise ValueError(
            f"the loaded PPO policy was trained on another environment (observation shape "
            f"{tuple(obs_shape)}, actions {action.get('nvec')}; now {tuple(here)}, "
            f"{nvec.tolist()}); use a new policy for this space"
        )
