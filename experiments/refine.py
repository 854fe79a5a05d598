"""A full refinement loop on a named tabular task: real (recorded) results retrain the
meta-learner, the policy proposes the next batch, and so on until the budget.

    python experiments/refine.py --config experiments/configs/refine_smoke.yaml
    python experiments/refine.py --task nasbench201/cifar10 --policy ppo --budget 60

Prints the best config found, its observed and true value, and its normalised regret
(PROTOCOL.md); the study lives in --storage (SQLite by default), so rerunning the same
command resumes it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from _config import parse_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's plug-ins


@dataclass
class Args:
    task: str = "hpolib/protein_structure"
    learner: str = "auto"
    policy: str = "ppo"
    env_id: str = ""
    """train the PPO policy in this registered env (e.g. envs/EditDesign-v0)"""
    timesteps: int = 20_000
    """PPO training steps per round"""
    budget: int = 50
    n_init: int = 10
    batch_size: int = 10
    seed: int = 0
    transfer: bool = False
    """warm-start with 200 evaluations of each other dataset of the task's family"""
    storage: str = "sqlite:///runs/refine.db"
    study_name: str = ""
    """default: <task>-<policy>-<seed>"""


if __name__ == "__main__":
    args = parse_config(Args, __doc__)

    import envs  # noqa: F401 - registers the repository's plug-in environments
    from metarl.benchmarks import load_task
    from metarl.compare import sibling_tasks
    from metarl.study import Study
    from metarl.trainers import TrainerSpec

    # 1. the task: a trainer that returns one recorded seed (noisy), and the truth
    task = load_task(args.task, args.seed)
    if args.storage.startswith("sqlite:///"):
        Path(args.storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    # 2. the policy: PPO gets its training budget and, optionally, its own environment
    policy_kwargs: dict = {}
    if args.policy == "ppo":
        policy_kwargs["timesteps"] = args.timesteps
        if args.env_id:
            policy_kwargs["env_id"] = args.env_id

    # 3. the study: Optuna storage, resumable
    study = Study(
        trainer=TrainerSpec("task", args.task, {"seed": args.seed}),
        learner=args.learner,
        policy=args.policy,
        policy_kwargs=policy_kwargs,
        storage=args.storage,
        study_name=args.study_name or f"{args.task.replace('/', '-')}-{args.policy}-{args.seed}",
        n_init=args.n_init,
        batch_size=args.batch_size,
        seed=args.seed,
        executor="thread",
        n_workers=1,
        transfer=sibling_tasks(args.task) if args.transfer else (),
    )
    study.optimize(args.budget, progress=True)

    # 4. the result, judged by the truth the policy never saw
    best = study.best_config
    true = task.true_value({k: v for k, v in best.items() if k in task.space.params})
    print(f"best config: {best}")
    print(f"observed {task.metric}: {study.best_value:.5g}, true (seed-mean): {true:.5g}")
    print(f"normalised regret: {float(task.normalized_regret(true)):.4f} (0 = optimum, 1 = median)")
    keys = ("round", "origin", "n_train", "cv_spearman", "fit_s", "propose_s", "seconds")
    for r in study.rounds[-3:]:
        print({k: r.get(k) for k in keys})
