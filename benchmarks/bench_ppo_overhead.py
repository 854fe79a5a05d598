"""The optimizer overhead per trial of metarl's defaults next to TPE's, and what PPO's
amortised training costs in quality.

Three parts, on the sklearn digits space of ``_spaces.py`` (a 64-column feature Subset x
model family x conditional hyperparameters, ~2**73 configs: "auto" runs local search there,
PPO before commit c4a2771; ``--policy ppo`` measures PPO in the sampler/study parts):

- ``rounds``: the policy alone over a fixed sequence of rounds. Round ``r`` fits a GP on
  the first ``n0 + r`` real CV results and asks for one config (batch size 1), excluding
  those results and the policy's own earlier proposals. For each variant of the PPO settings
  (``old``: 50,000 timesteps every round, no early stop, as before; ``new``: the library's
  defaults) it prints the CPU and wall seconds of each ``propose``, the timesteps trained,
  and the proposal's acquisition (UCB, kappa 2, the default) next to a reference optimizer
  (``surrogate_sampling`` over 65,536 configs), so quality is compared at the same round on
  the same learner.
- ``sampler``: ``MetaRLSampler()`` with its defaults inside ``optuna.Study.optimize`` on a
  cheap objective (a random forest fitted to the real results, predicting ``val_acc`` of the
  suggested config), and Optuna's ``TPESampler`` on the same objective: the overhead of each
  trial (its wall time minus the objective's), the first model-based round and the median
  after it, and the best value reached.
- ``study``: ``metarl.Study`` rounds as ``metarl run`` runs them (batch size 1, one
  worker thread, the same objective as the trainer): each round's fit and propose seconds
  (the fit includes the learner-quality figure, ``cv_method``) and its overhead (round
  seconds minus the trainer's).
- ``quality``: the learner-quality figure a ``Study`` round records (``cv_spearman``, 5-fold
  refitted CV), on each space of ``_spaces.py``, next to the truth it estimates (the
  Spearman of the same fit on the space's real results it did not see) and to a cheap
  alternative, the GP's closed-form leave-one-out at its fitted hyperparameters; and the
  CPU seconds of a round with and without the CV.

    python benchmarks/bench_ppo_overhead.py                       # all parts
    python benchmarks/bench_ppo_overhead.py --parts rounds --seeds 3 --rounds 12
    python benchmarks/bench_ppo_overhead.py --parts sampler,study --trials 40
    python benchmarks/bench_ppo_overhead.py --parts sampler,study --trials 40 --policy ppo
    python benchmarks/bench_ppo_overhead.py --parts quality --seeds 3   # the round's quality figure
    taskset -c 0,1 python benchmarks/bench_ppo_overhead.py        # on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _spaces import digits_case  # noqa: E402

from metarl.agents import make_policy  # noqa: E402
from metarl.learners import acquisition, make_learner  # noqa: E402
from metarl.sampler import MetaRLSampler  # noqa: E402
from metarl.space import (  # noqa: E402
    Boolean,
    Categorical,
    Float,
    Integer,
    SearchSpace,
    Subset,
    config_from_optuna_params,  # noqa: E402
)
from metarl.type_aliases import Config  # noqa: E402

warnings.filterwarnings("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)

#: the PPO settings before amortisation: 50,000 timesteps every round in rollouts of two
#: episodes per env, 4,096 samples
OLD = {
    "timesteps": 50_000,
    "finetune_timesteps": 50_000,
    "patience": None,
    "episodes_per_rollout": 2,
    "n_samples": 4096,
}
UCB = {"acquisition": "ucb", "kappa": 2.0}


def _median(xs: list[float]) -> float:
    return float(np.median(xs)) if xs else float("nan")


# ---------------------------------------------------------------------------- rounds
def _variant(spec: str) -> tuple[str, dict[str, Any]]:
    """``NAME=JSON`` of ``--variant``: PPO keywords on top of the defaults."""
    name, _, kw = spec.partition("=")
    return name, json.loads(kw or "{}")


def part_rounds(args: argparse.Namespace) -> None:
    case = digits_case(150)
    space = case.space
    print(f"\n== rounds: digits space 2**{np.log2(float(space.cardinality)):.1f}, GP, UCB ==")
    learners = [
        make_learner("gp", random_state=0).fit(
            space.encode(case.configs[: args.n0 + r]), case.y[: args.n0 + r]
        )
        for r in range(args.rounds)
    ]
    ref = []
    for r, learner in enumerate(learners if args.reference else []):
        (c,) = make_policy("surrogate_sampling", n_samples=65536, seed=0, **UCB).propose(
            space, learner, 1, direction="maximize", exclude=case.configs[: args.n0 + r]
        )
        ref.append(float(acquisition(learner, space.encode([c]), "ucb", 2.0, "maximize")[0]))
    variants = {"old": OLD, "new": {}} | dict(_variant(v) for v in args.variant)
    variants = {k: v for k, v in variants.items() if k not in args.skip}
    table: dict[str, dict[str, list[list[float]]]] = {v: {"acq": [], "cpu": []} for v in variants}
    print(
        "variant seed round  cpu_s  wall_s  timesteps  skipped stopped  acq    ref_acq  "
        "entropy distinct"
    )
    for seed in range(args.seeds):
        for name, kw in variants.items():
            policy = make_policy("ppo", seed=seed, **UCB, **kw)
            mine: list[Config] = []
            accs, cpus = [], []
            for r, learner in enumerate(learners):
                t, c = time.perf_counter(), time.process_time()
                (cfg,) = policy.propose(
                    space,
                    learner,
                    1,
                    direction="maximize",
                    exclude=case.configs[: args.n0 + r] + mine,
                )
                cpu, wall = time.process_time() - c, time.perf_counter() - t
                mine.append(cfg)
                acq = float(acquisition(learner, space.encode([cfg]), "ucb", 2.0, "maximize")[0])
                rec = policy.last_training_
                reference = ref[r] if ref else np.nan
                accs.append(acq)
                cpus.append(cpu)
                print(
                    f"{name:<7} {seed:>4} {r:>5} {cpu:>6.2f} {wall:>7.2f} "
                    f"{rec.get('timesteps', 0):>10} {rec.get('skipped', False)!s:>8} "
                    f"{rec.get('stopped', False)!s:>7}  {acq:.3f}  {reference:.3f}  "
                    f"{rec.get('entropy', np.nan):.3f} {rec.get('distinct', 0):>8}",
                    flush=True,
                )
            table[name]["acq"].append(accs)
            table[name]["cpu"].append(cpus)
    print("\nsummary (mean over seeds):")
    for name, t in table.items():
        acq, cpu = np.asarray(t["acq"]), np.asarray(t["cpu"])
        print(
            f"  {name}: proposal acquisition by round {np.round(acq.mean(0), 3).tolist()}; "
            f"mean over rounds {acq.mean():.3f} (reference {np.mean(ref) if ref else np.nan:.3f}); "
            f"CPU s first round {cpu[:, 0].mean():.1f}, median of later rounds "
            f"{np.median(cpu[:, 1:]):.2f}"
        )


# ---------------------------------------------------------------------------- objective
def suggest(trial: optuna.Trial, space: SearchSpace) -> Config:
    """Define-by-run suggestions of ``space`` (inactive parameters are not suggested)."""
    params: dict[str, Any] = {}
    config: Config = {}
    for name, p in space.params.items():
        if p.active_if and any(config.get(k) not in v for k, v in p.active_if.items()):
            continue
        if isinstance(p, Subset):
            for col in p.column_names:
                params[col] = trial.suggest_categorical(col, [False, True])
        elif isinstance(p, (Categorical, Boolean)):
            choices = [False, True] if isinstance(p, Boolean) else p.choices
            params[name] = trial.suggest_categorical(name, choices)
        elif isinstance(p, Integer):
            params[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
        elif isinstance(p, Float):
            params[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
        config = config_from_optuna_params(space, params)
    return config


class Surrogate:
    """The cheap objective: a random forest fitted to the real CV results of the space,
    predicting ``val_acc`` (maximised); ``seconds`` and ``cpu`` sum the wall and CPU
    seconds spent in it."""

    def __init__(self) -> None:
        case = digits_case(150)
        self.space = case.space
        self.forest = make_learner("forest", random_state=0).fit(
            self.space.encode(case.configs), case.y
        )
        self.seconds = self.cpu = 0.0

    def value(self, config: Config) -> float:
        t, c = time.perf_counter(), time.process_time()
        cfg = dict(config)
        cfg.setdefault("features", ())
        y = float(np.ravel(self.forest.predict(self.space.encode([cfg])))[0])
        self.seconds += time.perf_counter() - t
        self.cpu += time.process_time() - c
        return y

    def __call__(self, trial: optuna.Trial) -> float:
        # the suggest calls are the sampler's time, not the objective's: Optuna samples
        # (relative params included) when the objective first asks
        return self.value(suggest(trial, self.space))


def _run_optuna(
    sampler: optuna.samplers.BaseSampler, n: int
) -> tuple[list[float], list[float], float]:
    """Per-trial overhead of ``n`` trials (wall and CPU seconds of the trial minus the
    objective's) and the best value."""
    objective = Surrogate()
    study = optuna.create_study(direction="maximize", sampler=sampler)
    wall, cpu, firsts, seen = [], [], 0, {}
    for _ in range(n):
        w0, c0 = objective.seconds, objective.cpu
        t, c = time.perf_counter(), time.process_time()
        study.optimize(objective, n_trials=1)
        wall.append(time.perf_counter() - t - (objective.seconds - w0))
        cpu.append(time.process_time() - c - (objective.cpu - c0))
        policy = getattr(sampler, "_policy_obj", None)  # internal: was PPO trained anew?
        record = getattr(policy, "last_training_", None)
        if record is not None:
            firsts += id(record) not in seen and bool(record.get("first"))  # a new round's
            seen[id(record)] = record  # kept alive, so that its id is not reused
    if seen:
        print(f"  PPO models built from scratch: {firsts} (once is amortised)")
    return wall, cpu, float(study.best_value)


def part_sampler(args: argparse.Namespace) -> None:
    print(f"\n== sampler: {args.trials} trials of optuna.Study.optimize, batch size 1 ==")
    startup = 10
    kw = {} if args.policy == "auto" else {"policy": args.policy}
    label = "MetaRLSampler()" if args.policy == "auto" else f"MetaRLSampler({args.policy})"
    runs = {
        label: lambda s: MetaRLSampler(seed=s, **kw),
        "TPESampler": lambda s: optuna.samplers.TPESampler(seed=s),
    }
    if args.old_trials:
        old_kwargs = {**UCB, **OLD}
        runs["MetaRLSampler(old PPO settings)"] = lambda s: MetaRLSampler(
            seed=s, policy_kwargs=old_kwargs
        )
    for name, make in runs.items():
        n = args.old_trials if "old" in name else args.trials
        for seed in range(args.sampler_seeds):
            wall, cpu, best = _run_optuna(make(seed), n)
            for kind, over in (("CPU", cpu), ("wall", wall)):
                later = over[startup + 1 :]
                print(
                    f"{name:<32} seed {seed} {kind:>4} s per trial: startup median "
                    f"{_median(over[:startup]):.3f}, first round {over[startup]:.2f}, "
                    f"median after {_median(later):.3f} (max {max(later, default=np.nan):.2f})",
                    flush=True,
                )
            print(f"{name:<32} seed {seed}: best val_acc {best:.4f} after {n} trials")


# ---------------------------------------------------------------------------- quality
def _gp_loo(est: Any, y: np.ndarray) -> np.ndarray:
    """A fitted GPLearner's exact leave-one-out predictions at its fitted hyperparameters
    (closed form from its Cholesky factor, Rasmussen & Williams 2006, eq. 5.12): the cheap
    estimator this part checks, and which the library does not use."""
    from scipy.linalg import solve_triangular

    model, transform = est.models_[0], est.transforms_[0]
    L_inv = solve_triangular(model["L"], np.eye(len(model["L"])), lower=True)
    z_loo = transform.transform(y) - model["alpha"] / (L_inv * L_inv).sum(axis=0)
    return est.to_metric_scale(z_loo[:, None])[0][:, 0]


def part_quality(args: argparse.Namespace) -> None:
    from _spaces import CASES

    from metarl.learners import score_predictions
    from metarl.loop import History, refine

    print("\n== quality: a round's learner-quality figure (GP, maximised), mean over seeds ==")
    print("5-fold: refine's cv_spearman (refitted folds); loo: closed-form leave-one-out at the")
    print("fitted hyperparameters; held-out: the same fit on the real results it did not see;")
    print("CPU s of refine without and with the 5-fold CV")
    head = f"{'space':<10}{'n':>5}{'5-fold':>8}{'loo':>8}{'held-out':>10}"
    print(head + f"{'CPU s, no cv':>14}{'cv=5':>8}")
    policy = make_policy("surrogate_sampling", n_samples=256)
    for name, make in CASES.items():
        case = make(150)
        M = case.space.to_matrix(case.configs)
        for n in (20, 50, 100):
            cells = []
            for seed in range(args.seeds):
                rows = np.random.default_rng(seed).permutation(len(M))
                tr, te = rows[:n], rows[n:]
                h = History(M[tr], case.y[tr])
                cpu = []
                for cv in (0, 5):
                    c = time.process_time()
                    kw = {"learner": make_learner("gp"), "policy": policy, "cv": cv}
                    r = refine(case.space, h, 1, direction="maximize", seed=seed, **kw)
                    cpu.append(time.process_time() - c)
                # the fit's rows are in refine's canonical order
                est = r.learner
                order = np.lexsort(np.where(np.isnan(M[tr]), np.inf, M[tr]).T[::-1])
                y = h.y[order]
                loo = score_predictions(y, _gp_loo(est, y), direction="maximize")["spearman"]
                held = est.predict(case.space.encode_matrix(M[te]))
                truth = score_predictions(case.y[te], held, direction="maximize")["spearman"]
                cells.append((r.record["cv_spearman"], loo, truth, *cpu))
            m = np.mean(np.asarray(cells, dtype=float), axis=0)
            print(
                f"{name:<10}{n:>5}{m[0]:>8.3f}{m[1]:>8.3f}{m[2]:>10.3f}{m[3]:>14.2f}{m[4]:>8.2f}",
                flush=True,
            )


# ---------------------------------------------------------------------------- study
class RoundCPU:
    """A ``Study`` callback: each round's CPU seconds minus the trainer's, by origin."""

    def __init__(self, objective: Surrogate) -> None:
        self.objective = objective
        self.cpu: list[tuple[str, float]] = []
        self._last = (time.process_time(), objective.cpu)

    def __call__(self, study: Any, record: dict[str, Any]) -> None:
        now = (time.process_time(), self.objective.cpu)
        self.cpu.append((record["origin"], (now[0] - self._last[0]) - (now[1] - self._last[1])))
        self._last = now


def part_study(args: argparse.Namespace) -> None:
    from metarl.study import Study

    print(f"\n== study: metarl.Study rounds (as metarl run), {args.trials} trials, batch 1 ==")
    objective = Surrogate()

    def trainer(config: Config) -> dict[str, float]:
        return {"val_acc": objective.value(config)}

    for seed in range(args.sampler_seeds):
        study = Study(
            objective.space,
            trainer,
            metric="val_acc",
            direction="maximize",
            batch_size=1,
            n_init=10,
            seed=seed,
            executor="thread",
            n_workers=1,
            study_name=f"bench{seed}",
            policy=args.policy,
        )
        on_round = RoundCPU(objective)
        study.optimize(args.trials, callbacks=[on_round])
        model = [c for origin, c in on_round.cpu if origin == args.policy]
        rounds = [r for r in study.rounds if r["origin"] == args.policy]
        wall = [r["seconds"] for r in rounds]
        methods = sorted({str(r.get("cv_method")) for r in rounds})
        print(
            f"Study seed {seed}: {len(rounds)} {args.policy} rounds (quality: {methods}); CPU s "
            f"per round minus the trainer's: first {model[0]:.2f}, median after "
            f"{_median(model[1:]):.3f}; wall s (round seconds, "
            f"trainer included): first {wall[0]:.2f}, median after {_median(wall[1:]):.3f}; "
            f"fit_s median {_median([r['fit_s'] for r in rounds]):.3f}, propose_s median after "
            f"{_median([r['propose_s'] for r in rounds[1:]]):.3f}; best {study.best_value:.4f}",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="rounds,sampler,study")
    ap.add_argument("--seeds", type=int, default=2, help="seeds of the rounds part")
    ap.add_argument("--rounds", type=int, default=10, help="rounds of the rounds part")
    ap.add_argument("--n0", type=int, default=20, help="real results of the first round")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        help="extra PPO settings of the rounds part, NAME=JSON (e.g. p1='{\"patience\": 1}')",
    )
    ap.add_argument(
        "--reference", type=int, default=1, help="score the reference optimizer (0: no)"
    )
    ap.add_argument("--skip", default="", help="variants of the rounds part not to run")
    ap.add_argument("--trials", type=int, default=40, help="trials of the sampler/study parts")
    ap.add_argument("--sampler-seeds", type=int, default=1)
    ap.add_argument("--policy", default="auto", help="policy of the sampler/study parts")
    ap.add_argument(
        "--old-trials", type=int, default=0, help="trials with the old PPO settings (0: none)"
    )
    args = ap.parse_args()
    print(
        f"torch threads {torch.get_num_threads()}, CPUs available "
        f"{len(os.sched_getaffinity(0))}, cuda {torch.cuda.is_available()}"
    )
    for part in args.parts.split(","):
        parts = {
            "rounds": part_rounds,
            "sampler": part_sampler,
            "study": part_study,
            "quality": part_quality,
        }
        parts[part](args)


if __name__ == "__main__":
    main()
