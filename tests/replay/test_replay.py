"""A seeded run replays exactly: the same trials, in the same order, with the same values.

Two runs of each entry point with one seed on a deterministic trainer are compared trial by
trial: ``MetaRLSampler`` (``n_jobs=1``), ``Study`` (thread and process executors, batches),
``metarl run`` and ``metarl compare``, for each default policy (the exact argmax where the
grid is enumerable, PPO beyond), and a resumed run against an uninterrupted one. The second
run differs in everything a replay must not depend on: it runs in another process, with
another ``PYTHONHASHSEED``, on one torch/OpenMP/BLAS thread instead of two.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from tests.replay._runs import (
    metarl_cli,
    objective,
    run_in_subprocess,
    run_study,
    stored_trials,
    write_run_config,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Two runs: (torch/OpenMP/BLAS threads, PYTHONHASHSEED).
RUNS = ((2, 1), (1, 2))

PPO_RESUME = pytest.mark.slow  # a resumed PPO study replays the uninterrupted one


def _same(a: list, b: list) -> None:
    """Trial-by-trial equality, naming the first trial that differs."""
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"trial {i} differs:\n{x}\n{y}"
    assert len(a) == len(b)


def _twice(kind: str, kwargs: dict, tmp_path: Path) -> tuple[list, list]:
    return tuple(  # type: ignore[return-value]
        run_in_subprocess(kind, kwargs, tmp_path / f"{i}.json", threads=t, hash_seed=h)
        for i, (t, h) in enumerate(RUNS)
    )


# ---------------------------------------------------------------------- fast, in-process
def test_gp_predictions_do_not_depend_on_the_torch_thread_count() -> None:
    """What makes the argmax replay whatever the thread count: bitwise equal predictions
    (the fit runs on one thread up to 2,000 points; a batched prediction on any number)."""
    from metarl.learners import make_learner

    rng = np.random.default_rng(0)
    X, Xq = rng.random((60, 12)), rng.random((20_000, 12))
    y = np.sin(X @ rng.random(12))
    before = torch.get_num_threads()
    out = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            gp = make_learner("gp", random_state=3).fit(X, y)
            out.append(gp.predict_standardized(Xq, return_std=True))
    finally:
        torch.set_num_threads(before)
    (mu1, sd1), (mu2, sd2) = out
    assert (mu1 == mu2).all() and (sd1 == sd2).all()


def test_two_samplers_with_one_seed_in_one_process_share_no_state() -> None:
    from metarl.sampler import MetaRLSampler

    def sampler() -> MetaRLSampler:
        return MetaRLSampler(n_startup_trials=4, seed=0)

    alone = optuna.create_study(sampler=sampler())
    alone.optimize(objective, n_trials=7)
    a, b = optuna.create_study(sampler=sampler()), optuna.create_study(sampler=sampler())
    for _ in range(7):  # interleaved: each trial of one study between two of the other
        a.optimize(objective, n_trials=1)
        b.optimize(objective, n_trials=1)
    ref = [(t.params, t.value) for t in alone.trials]
    assert [(t.params, t.value) for t in a.trials] == ref
    assert [(t.params, t.value) for t in b.trials] == ref


def test_a_resumed_study_replays_an_uninterrupted_one_on_other_threads(tmp_path) -> None:
    """In one process: stopped at 7 evaluations and resumed by a new ``Study`` on the same
    SQLite storage (2 torch threads), against 10 evaluations in one go (1 thread)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        resumed = run_study(budgets=(7, 10), storage=f"sqlite:///{tmp_path / 'a.db'}")
        torch.set_num_threads(1)
        whole = run_study(budgets=(10,), storage=f"sqlite:///{tmp_path / 'b.db'}")
    finally:
        torch.set_num_threads(before)
    _same(resumed, whole)
    assert [t[5] for t in whole].count("auto") == 6  # two model rounds of 3 really ran


# ---------------------------------------------------------------------- slow, two processes
@pytest.mark.slow
@pytest.mark.parametrize("policy", ["auto", "ppo", "local_search"])
def test_sampler_replays(policy: str, tmp_path: Path) -> None:
    a, b = _twice("sampler", {"policy": policy, "n_trials": 12}, tmp_path)
    _same(a, b)
    assert len({str(t[1]) for t in a}) == 12


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["auto", "ppo"])
@pytest.mark.parametrize(("executor", "n_workers"), [("thread", 1), ("process", 2)])
def test_study_replays(policy: str, executor: str, n_workers: int, tmp_path: Path) -> None:
    kwargs = {"policy": policy, "budgets": [13], "executor": executor, "n_workers": n_workers}
    a, b = _twice("study", kwargs, tmp_path)
    _same(a, b)
    assert [t[5] for t in a].count(policy) == 9  # three batches of 3 from the policy


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["auto", "local_search", pytest.param("ppo", marks=PPO_RESUME)])
def test_resumed_study_replays_an_uninterrupted_one(policy: str, tmp_path: Path) -> None:
    (t1, h1), (t2, h2) = RUNS
    resumed = run_in_subprocess(
        "study",
        {"policy": policy, "budgets": [10, 16], "storage": f"sqlite:///{tmp_path / 'a.db'}"},
        tmp_path / "a.json",
        threads=t1,
        hash_seed=h1,
    )
    whole = run_in_subprocess(
        "study",
        {"policy": policy, "budgets": [16], "storage": f"sqlite:///{tmp_path / 'b.db'}"},
        tmp_path / "b.json",
        threads=t2,
        hash_seed=h2,
    )
    _same(resumed, whole)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["auto", pytest.param("ppo", marks=PPO_RESUME)])
def test_metarl_run_replays_when_interrupted_and_resumed(policy: str, tmp_path: Path) -> None:
    """``metarl run --budget 10`` then ``metarl run`` (16), process executor with two
    workers, against one ``metarl run`` (16) on one worker thread."""
    trials = []
    for i, ((threads, hash_seed), budgets, executor, n_workers) in enumerate(
        [(RUNS[0], (10, 16), "process", 2), (RUNS[1], (16,), "thread", 1)]
    ):
        folder = tmp_path / str(i)
        folder.mkdir()
        cfg = write_run_config(folder, policy, executor=executor, n_workers=n_workers)
        for budget in budgets:
            metarl_cli(
                "run", str(cfg), "--budget", str(budget), "--no-progress",
                cwd=folder, threads=threads, hash_seed=hash_seed,
            )  # fmt: skip
        trials.append(stored_trials(folder))
    _same(*trials)
    assert len(trials[0]) == 16


@pytest.mark.slow
def test_metarl_compare_replays_except_for_the_seconds(tmp_path: Path) -> None:
    ppo = "ppo(timesteps=256,finetune_timesteps=128,n_envs=8,n_samples=64,patience=null)"
    runs = []
    for i, ((threads, hash_seed), n_jobs) in enumerate(zip(RUNS, ("2", "1"))):
        metarl_cli(
            "compare", "--tasks", "hpolib/protein_structure", "--policies", f"default,{ppo}",
            "--seeds", "2", "--budget", "12", "--n-init", "4", "--batch-size", "2",
            "--out", str(tmp_path / str(i)), "--n-jobs", n_jobs, "--no-progress",
            cwd=tmp_path, threads=threads, hash_seed=hash_seed,
        )  # fmt: skip
        runs.append(pd.read_csv(tmp_path / str(i) / "runs.csv"))
    assert len(runs[0]) == 8  # 2 policies x 2 seeds x checkpoints 10 and 12
    pd.testing.assert_frame_equal(runs[0].drop(columns="seconds"), runs[1].drop(columns="seconds"))
