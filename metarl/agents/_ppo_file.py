"""The file a trained PPO policy is saved to: JSON metadata and plain tensors in a zip, read
back without unpickling anything (SB3's own zip is read only on request)."""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv

from metarl._version import __version__
from metarl.space import SearchSpace

#: ``format`` of the ``metadata.json`` of a file written by ``PPOPolicy.save``.
POLICY_FORMAT = "metarl-ppo-policy"
POLICY_FORMAT_VERSION = 1
ALGORITHMS = ("PPO", "MaskablePPO")


def model_state(policy: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metadata and tensors of ``policy.model_`` (a trained SB3 model)."""
    model = policy.model_
    action = model.action_space
    meta = {
        "format": POLICY_FORMAT,
        "format_version": POLICY_FORMAT_VERSION,
        "metarl_version": __version__,
        "policy": _class_path(policy),
        "params": _json_params(policy),
        "algorithm": type(model).__name__,
        "observation_shape": list(model.observation_space.shape),
        "action_space": {
            "type": type(action).__name__,
            "nvec": np.atleast_1d(getattr(action, "nvec", getattr(action, "n", 0))).tolist(),
        },
        "space_fingerprint": policy.space_fingerprint_,
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(getattr(model, "_n_updates", 0)),
    }
    state = {
        "policy": {k: v.detach().cpu() for k, v in model.policy.state_dict().items()},
        "optimizer": model.policy.optimizer.state_dict(),
    }
    return meta, state


def write_policy_file(path: Path, meta: dict[str, Any], state: dict[str, Any]) -> None:
    """Write ``metadata.json`` and ``weights.pt`` (plain tensors) to the zip ``path``."""
    buf = io.BytesIO()
    torch.save(state, buf)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(meta, indent=2))
        zf.writestr("weights.pt", buf.getvalue())


def read_policy_file(path: Path, policy: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metadata and tensors of a file written for ``policy``'s class.

    Raises:
        ValueError: not a policy file (or an SB3 zip), another metarl major version, another
            policy class or an unknown algorithm.
    """
    files, meta = _read_zip(path)
    if meta is None:
        hint = (
            "an SB3 model zip, whose loader unpickles code; pass sb3=True if you trust it"
            if "data" in files
            else "no metadata.json"
        )
        raise ValueError(f"{path}: not a metarl policy file ({hint})")
    if meta.get("format") != POLICY_FORMAT:
        raise ValueError(f"{path}: not a metarl policy file (format {meta.get('format')!r})")
    saved = str(meta.get("metarl_version"))
    if saved.split(".")[0] != __version__.split(".")[0]:
        raise ValueError(
            f"{path}: written by metarl {saved}, cannot load with metarl {__version__} "
            "(major versions differ); train a new policy"
        )
    mine = _class_path(policy)
    if meta.get("policy") != mine:
        raise ValueError(f"{path}: a {meta.get('policy')} file, not a {mine} one")
    if meta.get("algorithm") not in ALGORITHMS:
        raise ValueError(f"{path}: unknown algorithm {meta.get('algorithm')!r}")
    with zipfile.ZipFile(path) as zf:
        state = torch.load(io.BytesIO(zf.read("weights.pt")), map_location="cpu", weights_only=True)
    return meta, state


def load_sb3_model(path: Path, device: str) -> Any:
    """An SB3 ``PPO``/``MaskablePPO`` zip, loaded by SB3 (which unpickles: trusted files only)."""
    files, _ = _read_zip(path)
    if "data" not in files:
        raise ValueError(f"{path}: not an SB3 model file (no 'data' entry)")
    with zipfile.ZipFile(path) as z:
        data = json.loads(z.read("data"))
    module = str(data.get("policy_class", {}).get("__module__", ""))
    if module.startswith("sb3_contrib"):
        from sb3_contrib import MaskablePPO

        return MaskablePPO.load(str(path), device=device)
    from stable_baselines3 import PPO

    return PPO.load(str(path), device=device)


def restore_model(model: Any, meta: dict[str, Any], state: dict[str, Any]) -> Any:
    """Load a file's weights, optimizer state and counters into a freshly built model."""
    model.policy.load_state_dict(state["policy"])
    if state.get("optimizer"):
        model.policy.optimizer.load_state_dict(state["optimizer"])
    model.num_timesteps = int(meta.get("num_timesteps", 0))
    model._n_updates = int(meta.get("n_updates", 0))
    return model


def check_env_matches(env: VecEnv, meta: dict[str, Any], fingerprint: str) -> None:
    """Refuse to restore a file on another search space or environment layout."""
    if meta.get("space_fingerprint") not in (None, fingerprint):
        raise ValueError(
            f"the loaded PPO policy was trained on another search space (fingerprint "
            f"{meta['space_fingerprint']}, this space {fingerprint}); use a new policy for "
            "this space"
        )
    obs_shape, action = meta["observation_shape"], meta["action_space"]
    here = list(env.observation_space.shape)
    nvec = np.atleast_1d(getattr(env.action_space, "nvec", getattr(env.action_space, "n", 0)))
    if here != list(obs_shape) or nvec.tolist() != list(action.get("nvec", [])):
        raise ValueError(
            f"the loaded PPO policy was trained on another environment (observation shape "
            f"{tuple(obs_shape)}, actions {action.get('nvec')}; now {tuple(here)}, "
            f"{nvec.tolist()}); use a new policy for this space"
        )


def _class_path(policy: Any) -> str:
    return f"{type(policy).__module__}.{type(policy).__qualname__}"


def _json_params(policy: Any) -> dict[str, Any]:
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


class PolicyFileMixin:
    """``save``/``load`` of :class:`~metarl.agents.PPOPolicy` (its ``model_``, ``_loaded``,
    ``space_fingerprint_``, ``device`` and ``_new_model`` are used)."""

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

    def load(self, path: str | Path, *, sb3: bool = False) -> Any:
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
        model = restore_model(model, meta, state)
        # building the network drew from the round's seed: reseed, as a fine-tuning round
        # does, so a resumed round samples what the uninterrupted run sampled
        model.set_random_seed(seed)
        return model
