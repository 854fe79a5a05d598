"""Train a PPO design agent on a meta-learner fitted to N random, noisy evaluations of a
task, in the default design environment or in any registered one; save the policy.

    python experiments/train_agent.py --config experiments/configs/train_agent_smoke.yaml
    python experiments/train_agent.py --env-id envs/EditDesign-v0 --timesteps 20000 \
        --tensorboard runs/tb

Prints the agent's best proposals with their predicted and true value and normalised
regret (PROTOCOL.md), and writes the policy to --out (an SB3 zip, reloaded with
``make_policy("ppo").load(path)``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _config import parse_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's plug-ins


@dataclass
class Args:
    task: str = "hpolib/protein_structure"
    """tabular benchmark task the meta-data come from (metarl.benchmarks.list_tasks())"""
    n_observations: int = 200
    """random configs evaluated (one recorded noisy seed each) to fit the meta-learner on"""
    learner: str = "forest"
    """meta-learner name (metarl.learners.make_learner) whose prediction rewards the agent"""
    env_id: str = ""
    """registered Gymnasium env id to train in, e.g. envs/EditDesign-v0 (empty: metarl's
    design environment)"""
    timesteps: int = 20_000
    """PPO training steps"""
    n_envs: int = 64
    """design environments stepped in parallel"""
    n_samples: int = 1024
    """stochastic episodes sampled from the trained agent to choose the proposals from"""
    n_proposals: int = 10
    """configs proposed (and looked up in the benchmark to score them)"""
    seed: int = 0
    """seed of the observations, the meta-learner and PPO"""
    tensorboard: str = ""
    """TensorBoard log folder for PPO's training curves (empty: no logs)"""
    out: str = "runs/agent/ppo.zip"
    """where to save the trained policy (an SB3 zip)"""


if __name__ == "__main__":
    args = parse_config(Args, __doc__)

    import numpy as np

    import envs  # noqa: F401 - registers the repository's plug-in environments
    from metarl.agents import make_policy
    from metarl.benchmarks import load_task
    from metarl.learners import make_learner

    # 1. meta-data: N random configs of the task, one recorded (noisy) seed each
    task = load_task(args.task, args.seed)
    rng = np.random.default_rng(args.seed)
    M = task.space.sample_matrix(args.n_observations, rng)
    y = task.sample_observations(M, rng)

    # 2. the meta-learner the agent is rewarded by
    learner = make_learner(args.learner).fit(task.space.encode_matrix(M), y)

    # 3. the agent: PPO in the design environment (or the one named by --env-id)
    policy = make_policy(
        "ppo",
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        n_samples=args.n_samples,
        env_id=args.env_id or None,
        tensorboard_log=args.tensorboard or None,
        seed=args.seed,
    )
    t0 = time.perf_counter()
    proposals = policy.propose(
        task.space, learner, args.n_proposals, direction=task.direction,
        exclude=task.space.to_configs(M),
    )  # fmt: skip
    seconds = time.perf_counter() - t0

    # 4. how good the agent's proposals really are (the agent never saw the truth)
    P = task.space.to_matrix(proposals)
    predicted = learner.predict(task.space.encode_matrix(P))
    true = task.true_value(P)
    regret = task.normalized_regret(true)
    print(f"trained {args.timesteps} steps in {seconds:.1f} s")
    for config, p, t, r in zip(proposals, predicted, true, regret):
        print(f"predicted {p:.4g}  true {t:.4g}  regret {r:.3f}  {config}")
    print(f"best regret of the proposals: {regret.min():.4f}; of the {len(M)} random "
          f"observations: {task.normalized_regret(task.true_value(M)).min():.4f}")  # fmt: skip

    # 5. save the policy
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    policy.save(args.out)
    print(f"saved the policy to {args.out}")
