"""Optuna's TPE and GP samplers as policies: Subsets with min_size, and a focus."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.agents import make_policy
from metarl.learners import ForestLearner
from metarl.loop import History, refine
from metarl.space import Boolean, Categorical, Fidelity, Float, Integer, SearchSpace, Subset

SPACE = SearchSpace(
    {
        "features": Subset(["a", "b", "c", "d", "e"], min_size=3),
        "model": Categorical(["linear", "tree", "mlp"]),
        "width": Categorical([8, 16, 32, 64, 128]),
        "lr": Float(1e-4, 1e-1, log=True),
        "depth": Integer(1, 10),
        "bias": Boolean(),
        "epochs": Fidelity(1, 20),
    }
)
FOCUS = {
    "fixed": {"model": "tree", "bias": True},
    "choices": {"width": [16, 64, 128]},
    "ranges": {"lr": [1e-3, 1e-2], "depth": [2, 4]},
    "items": {"features": {"include": ["a"], "exclude": ["e"]}},
}


def _value(cfg: dict) -> float:
    return float(np.log10(cfg["lr"]) ** 2 + cfg["depth"] + len(cfg["features"]) + cfg["width"] / 64)


def _history(space: SearchSpace, n: int, seed: int) -> list[tuple[dict, float]]:
    return [(c, _value(c)) for c in space.to_configs(space.sample_matrix(n, seed=seed))]


@pytest.mark.parametrize("name", ["tpe", "gp"])
def test_subsets_below_min_size_are_filled_not_fatal(name: str) -> None:
    # every item off is a likely ask over 5 independent on/off decisions: min_size 3 used to
    # raise SpaceError ("fewer than min_size") in about half of the asks
    policy = make_policy(name, seed=0)
    for seed in range(3):
        policy.reseed(seed)
        out = policy.propose(SPACE, None, 8, history=_history(SPACE, 12, seed))
        assert len(out) == 8 and all(len(c["features"]) >= 3 for c in out)
        assert all(c["epochs"] == 20 for c in out)  # the loop, not the design, picks fidelities


@pytest.mark.parametrize("name", ["tpe", "gp"])
def test_proposals_keep_to_the_focus(name: str) -> None:
    focus = SPACE.restrict(**FOCUS)
    history = _history(SPACE, 20, 0) + _history(focus, 10, 1)  # in and out of the focus
    policy = make_policy(name, seed=0)
    out = policy.propose(focus, None, 6, history=history)
    assert len(out) == 6 and focus.contains_matrix(SPACE.to_matrix(out)).all()
    # the same through the shared round (which raises on a proposal outside the focus)
    configs = [c for c, _ in history]
    step = refine(
        SPACE,
        History.from_configs(SPACE, configs, [v for _, v in history]),
        4,
        learner=ForestLearner(n_estimators=10),
        policy=policy,
        focus=focus,
    )
    assert len(step.configs) == 4 and focus.contains_matrix(step.M).all()


def test_replays_with_a_seed() -> None:
    history = _history(SPACE, 12, 0)
    runs = []
    for _ in range(2):
        policy = make_policy("tpe", seed=3)
        runs.append(policy.propose(SPACE.restrict(**FOCUS), None, 5, history=history))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", ["tpe", "gp"])
def test_low_fidelity_history_is_not_told_to_the_sampler(name: str) -> None:
    # the sampler's fidelity distribution is the full value only: a trial at epochs=5 used to
    # reach create_trial and raise "isn't contained in IntDistribution(20, 20)"
    history = _history(SPACE, 12, 0)
    low = [({**c, "epochs": 5}, v - 100.0) for c, v in _history(SPACE, 6, 1)]
    policy = make_policy(name, seed=0)
    out = policy.propose(SPACE, None, 4, history=history + low)
    assert len(out) == 4 and all(c["epochs"] == 20 for c in out)
    # only low-fidelity results: nothing to learn from, yet proposals come
    out = make_policy(name, seed=0).propose(SPACE, None, 3, history=low)
    assert len(out) == 3 and all(c["epochs"] == 20 for c in out)


def test_a_searched_fidelity_keeps_its_history() -> None:
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "epochs": Fidelity(1, 20, search=True)})
    history = [(c, float(c["epochs"])) for c in space.to_configs(space.sample_matrix(10, seed=0))]
    assert any(c["epochs"] != 20 for c, _ in history)
    out = make_policy("tpe", seed=0).propose(space, None, 3, history=history)
    assert len(out) == 3 and space.contains_matrix(space.to_matrix(out)).all()
