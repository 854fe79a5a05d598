"""Seeded runs of every entry point, reduced to what must replay: the trial sequence.

Each ``run_*`` function runs one entry point on a deterministic objective and returns its
trials as plain JSON-ready rows (number, params, state, value, and for a ``Study`` the
round and origin). ``python -m tests.replay._runs KIND JSON_ARGS OUT`` runs one in a fresh
process, so that two runs of a test differ in everything a replay must not depend on: the
process, ``PYTHONHASHSEED``, the torch and BLAS thread counts (``run_in_subprocess``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna

from metarl.space import Categorical, Float, Integer, SearchSpace

ROOT = Path(__file__).resolve().parents[2]

#: A mixed space of 2,520 configs (exhaustive by default) with a conditional parameter and
#: an irrelevant one: the learner's predictions across ``pad`` nearly tie, which is where
#: last-bit differences would reorder the ranking.
SPACE = SearchSpace(
    {
        "x": Float(-2.0, 2.0, bins=9),
        "n": Integer(1, 7),
        "opt": Categorical(["sgd", "adam"], ordered=False),
        "momentum": Float(0.0, 0.9, bins=4, active_if={"opt": ["sgd"]}),
        "pad": Categorical(["a", "b", "c", "d"], ordered=False),
    }
)

#: PPO small enough for a test (a few seconds per round).
SMALL_PPO = {
    "timesteps": 256,
    "finetune_timesteps": 128,
    "patience": None,
    "n_envs": 8,
    "n_samples": 64,
}


def loss(config: dict[str, Any]) -> dict[str, float]:
    """A deterministic trainer: the same config gives the same loss, in any process."""
    v = (config["x"] - 0.5) ** 2 + 0.1 * (config["n"] - 3) ** 2
    v += 0.3 if config["opt"] == "adam" else 0.2 * config["momentum"]
    return {"loss": v + 0.05 * math.sin(3.0 * config["x"] * config["n"])}


def objective(trial: optuna.Trial) -> float:
    """The same objective, define-by-run, for ``MetaRLSampler``."""
    cfg: dict[str, Any] = {
        "x": trial.suggest_float("x", -2.0, 2.0),
        "n": trial.suggest_int("n", 1, 7),
        "opt": trial.suggest_categorical("opt", ["sgd", "adam"]),
    }
    if cfg["opt"] == "sgd":
        cfg["momentum"] = trial.suggest_float("momentum", 0.0, 0.9)
    trial.suggest_categorical("pad", ["a", "b", "c", "d"])
    return loss(cfg)["loss"]


def _policy(policy: str) -> tuple[str, dict[str, Any] | None]:
    return (policy, None) if policy != "ppo" else ("ppo", {**SMALL_PPO, "kappa": 2.0})


def run_sampler(policy: str = "auto", n_trials: int = 16, seed: int = 0) -> list[list[Any]]:
    """``MetaRLSampler(seed=seed)`` with ``n_jobs=1``: (number, params, value) per trial."""
    from metarl.sampler import MetaRLSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name, kwargs = _policy(policy)
    sampler = MetaRLSampler(
        policy=name, policy_kwargs=kwargs, n_startup_trials=6, batch_size=2, seed=seed
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return [[t.number, t.params, t.value] for t in study.trials]


def study_trials(study: Any) -> list[list[Any]]:
    """A ``Study``'s trials: (number, params, state, value, round, origin), by number."""
    return [
        [
            t.number,
            t.params,
            t.state.name,
            t.value,
            t.user_attrs.get("metarl:round"),
            t.user_attrs.get("metarl:origin"),
        ]
        for t in sorted(study.trials(), key=lambda t: t.number)
    ]


def run_study(
    policy: str = "auto",
    budgets: tuple[int, ...] = (16,),
    *,
    executor: str = "thread",
    n_workers: int = 1,
    batch_size: int = 3,
    n_init: int = 4,
    seed: int = 0,
    storage: str | None = None,
) -> list[list[Any]]:
    """A ``Study`` run to each of ``budgets`` in turn, each by a new ``Study`` object on the
    same storage (an interrupted and resumed run); its trials at the end."""
    from metarl.study import Study
    from metarl.trainers import TrainerSpec

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name, kwargs = _policy(policy)
    trainer = TrainerSpec("import", "tests.replay._runs:loss")
    study = None
    for budget in budgets:
        study = Study(
            SPACE,
            trainer,
            metric="loss",
            policy=name,
            policy_kwargs=kwargs,
            storage=storage,
            n_init=n_init,
            batch_size=batch_size,
            seed=seed,
            executor=executor,
            n_workers=n_workers,
        ).optimize(budget)
    return study_trials(study)


RUNNERS = {"sampler": run_sampler, "study": run_study}


def metarl_cli(*args: str, cwd: Path, threads: int, hash_seed: int) -> str:
    """Run the ``metarl`` command (``python -m metarl.cli``) with ``threads`` torch, OpenMP
    and BLAS threads and ``PYTHONHASHSEED=hash_seed``; its stderr (it must succeed)."""
    env = {
        **os.environ,
        **thread_env(threads),
        "PYTHONHASHSEED": str(hash_seed),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "metarl.cli", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"metarl {args[0]} failed:\n{proc.stderr[-3000:]}")
    return proc.stderr


def write_run_config(folder: Path, policy: str = "auto", **settings: Any) -> Path:
    """A ``metarl run`` config of the deterministic trainer on :data:`SPACE` in ``folder``
    (storage ``folder/run.db``); ``settings`` override its keys."""
    import yaml

    name, kwargs = _policy(policy)
    cfg = {
        "space": SPACE.to_dict(),
        "trainer": "tests.replay._runs:loss",
        "metric": "loss",
        "policy": name,
        "policy_kwargs": kwargs,
        "budget": 16,
        "n_init": 4,
        "batch_size": 3,
        "seed": 0,
        "storage": f"sqlite:///{folder / 'run.db'}",
        "executor": "thread",
        "n_workers": 1,
        **settings,
    }
    path = folder / "replay.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def stored_trials(folder: Path, study_name: str = "replay") -> list[list[Any]]:
    """The trials a ``metarl run`` stored in ``folder/run.db``, as :func:`study_trials`."""
    storage = f"sqlite:///{folder / 'run.db'}"
    study = optuna.load_study(study_name=study_name, storage=storage)
    return study_trials(_Trials(study))


class _Trials:
    """An Optuna study seen through the one method :func:`study_trials` reads."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study

    def trials(self) -> list[Any]:
        return self.study.get_trials(deepcopy=False)


def run_in_subprocess(
    kind: str, kwargs: dict[str, Any], out: Path, *, threads: int, hash_seed: int
) -> list[list[Any]]:
    """Run ``RUNNERS[kind](**kwargs)`` in a fresh Python process with ``threads`` torch,
    OpenMP and BLAS threads and ``PYTHONHASHSEED=hash_seed``; its trials."""
    env = {
        **os.environ,
        **thread_env(threads),
        "PYTHONHASHSEED": str(hash_seed),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [sys.executable, "-m", "tests.replay._runs", kind, json.dumps(kwargs), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables giving a process ``threads`` OpenMP/BLAS threads (and torch,
    through ``METARL_TEST_TORCH_THREADS``, read by this module's ``__main__``)."""
    n = str(threads)
    return {
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "METARL_TEST_TORCH_THREADS": n,
    }


def main(argv: list[str]) -> None:
    kind, kwargs, out = argv[0], json.loads(argv[1]), Path(argv[2])
    if "METARL_TEST_TORCH_THREADS" in os.environ:
        import torch

        torch.set_num_threads(int(os.environ["METARL_TEST_TORCH_THREADS"]))
    if "budgets" in kwargs:
        kwargs["budgets"] = tuple(kwargs["budgets"])
    out.write_text(json.dumps(RUNNERS[kind](**kwargs)))


if __name__ == "__main__":
    main(sys.argv[1:])
