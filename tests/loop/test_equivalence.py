"""The acceptance test of the shared round: a comparison run and a Study propose alike.

``metarl compare``'s ``default`` contender and a ``Study`` with its defaults, on the same task
and seed, run the same :func:`metarl.loop.refine` rounds: the same initial design (the seed's
``"init"`` stream), the same learner (seeded per round from the seed), the same policy. The
task draws its noise from its own generator in evaluation order; both sides seed it with the
seed's ``"noise"`` stream, so they observe the same values and must propose the same configs,
round by round.
"""

from __future__ import annotations

import optuna
import pytest

from metarl.benchmarks import load_task
from metarl.compare import parse_policy, run_rounds, sibling_tasks
from metarl.loop import seed_streams
from metarl.study import Study

TASK = "hpolib/protein_structure"
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _compare(seed: int, budget: int, batch_size: int, n_init: int, transfer: bool) -> list:
    task = load_task(TASK, seed_streams(seed)["noise"])
    rounds = run_rounds(
        parse_policy("default"),
        task,
        seed,
        budget=budget,
        n_init=n_init,
        batch_size=batch_size,
        transfer=transfer,
    )
    return [(step.record["origin"], step.configs, y.tolist()) for step, y in rounds]


def _study(seed: int, budget: int, batch_size: int, n_init: int, transfer: bool) -> list:
    task = load_task(TASK, seed_streams(seed)["noise"])
    study = Study(
        trainer=task,
        n_init=n_init,
        batch_size=batch_size,
        seed=seed,
        executor="thread",
        n_workers=1,  # evaluation order = proposal order, as in the comparison
        transfer=sibling_tasks(TASK) if transfer else (),
    ).optimize(budget)
    by_round: dict[int, list] = {}
    for t in study.trials():  # trial numbers follow the proposals
        by_round.setdefault(t.user_attrs["metarl:round"], []).append(t)
    return [
        (ts[0].user_attrs["metarl:origin"], [study.config_of(t) for t in ts], [t.value for t in ts])
        for _, ts in sorted(by_round.items())
    ]


@pytest.mark.parametrize(
    ("seed", "budget", "batch_size"),
    [(0, 20, 1), (3, 22, 4)],
    ids=["one-per-round", "batches-of-4"],
)
def test_compare_default_and_study_propose_the_same_configs(seed, budget, batch_size) -> None:
    ours = _compare(seed, budget, batch_size, n_init=10, transfer=False)
    theirs = _study(seed, budget, batch_size, n_init=10, transfer=False)
    assert [len(r[1]) for r in ours] == [len(r[1]) for r in theirs]
    assert sum(len(r[1]) for r in ours) == budget
    for i, ((o_origin, o_cfgs, o_y), (s_origin, s_cfgs, s_y)) in enumerate(zip(ours, theirs)):
        assert o_cfgs == s_cfgs, f"round {i}: different proposals"
        assert o_y == s_y, f"round {i}: different observed values"
        assert (o_origin == "init") == (s_origin == "init")
    # the model rounds really ran (not only the shared initial design)
    assert sum(r[0] != "init" for r in ours) == -(-(budget - 10) // batch_size)


@pytest.mark.slow
def test_with_transfer_data_too() -> None:
    ours = _compare(1, 6, 3, n_init=10, transfer=True)
    theirs = _study(1, 6, 3, n_init=10, transfer=True)
    assert [r[0] for r in ours] == ["default", "default"]  # no initial design with transfer
    assert [r[1:] for r in ours] == [r[1:] for r in theirs]
