"""A Study with a trainer that continues configs from lower fidelities: the trials say from
which level, and the study measures how often raising a config continued."""

from __future__ import annotations

import datetime as dt

import numpy as np
import optuna
import pytest
from optuna.trial import create_trial

from metarl.space import Categorical, Fidelity, Float, SearchSpace, to_optuna
from metarl.study import Study
from metarl.study._fidelity import CONTINUATION_PRIOR, continuation_rate, continued_from
from metarl.study._schema import ROUND
from metarl.trainers import CONTINUED_FROM

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=12), "m": Categorical(["a", "b"]), "f": Fidelity(0.05, 1.0)}
)


class Continuing:
    """Remembers the highest level each config reached and continues from it; with
    ``forget_every=k``, loses the checkpoint of raises 1, k + 1, 2k + 1, ... (evicted, or in
    another process)."""

    def __init__(self, forget_every: int = 0) -> None:
        self.reached: dict[tuple, float] = {}
        self.forget_every = forget_every
        self.raises = self.hits = 0

    def __call__(self, config: dict) -> dict:
        key = (config["x"], config["m"])
        before = self.reached.get(key, 0.0)
        start = before if before < config["f"] else 0.0
        if start > 0:
            self.raises += 1
            if self.forget_every and self.raises % self.forget_every == 1 % self.forget_every:
                start = 0.0
            self.hits += int(start > 0)
        self.reached[key] = max(before, config["f"])
        v = -((config["x"] - 0.7) ** 2) + (0.1 if config["m"] == "a" else 0.0)
        return {"acc": v + 0.05 * np.log(config["f"]), CONTINUED_FROM: start}


def test_trials_record_the_level_they_continued_from_and_the_rounds_price_it() -> None:
    trainer = Continuing()
    s = Study(SPACE, trainer, metric="acc", direction="maximize", executor="thread",
              n_workers=1, n_init=4, batch_size=3).optimize(22)  # fmt: skip
    trials = s.trials()
    froms = continued_from(trials)
    assert len(froms) == len(trials) and (froms >= 0).all()
    raised = [t for t in trials if t.user_attrs[CONTINUED_FROM] > 0]
    assert raised, "no config was raised to a higher level"
    for t in raised:  # continued from a level of the same config that was evaluated before
        assert t.user_attrs[CONTINUED_FROM] < t.params["f"]


def test_the_rounds_price_raises_by_the_measured_continuation_rate() -> None:
    """Every other raise (the first too) loses its checkpoint: each round's rate is the one
    measured on the trials before it, (hits + prior) / (raises + 1), and falls below the
    prior."""
    trainer = Continuing(forget_every=2)
    s = Study(SPACE, trainer, metric="acc", direction="maximize", executor="thread",
              n_workers=1, n_init=4, batch_size=3, seed=0).optimize(25)  # fmt: skip
    trials = s.trials()
    assert trainer.raises >= 3 and 0 < trainer.hits < trainer.raises
    expected = (trainer.hits + CONTINUATION_PRIOR) / (trainer.raises + 1)
    assert continuation_rate(SPACE, trials) == pytest.approx(expected)
    fitted = [r for r in s.rounds if "continuation" in r]
    for r in fitted:
        before = [t for t in trials if t.user_attrs[ROUND] < r["round"]]
        assert r["continuation"] == round(continuation_rate(SPACE, before), 4)
    assert min(r["continuation"] for r in fitted) < CONTINUATION_PRIOR


def _trial(x: float, f: float, start: int, cont: float | None) -> optuna.trial.FrozenTrial:
    t = create_trial(
        params={"x": x, "m": "a", "f": f},
        distributions=to_optuna(SPACE),
        value=0.0,
        user_attrs={} if cont is None else {CONTINUED_FROM: cont},
    )
    t.datetime_start = dt.datetime(2026, 1, 1, 0, start)
    t.datetime_complete = dt.datetime(2026, 1, 1, 0, start, 30)
    return t


def test_continuation_rate_counts_raises_that_continued() -> None:
    trials = [
        _trial(0.5, 0.05, 0, 0.0),
        _trial(0.5, 1.0, 1, 0.05),  # a raise, continued
        _trial(0.25, 0.05, 2, 0.0),
        _trial(0.25, 1.0, 3, 0.0),  # a raise whose checkpoint was gone
        _trial(0.75, 1.0, 4, 0.0),  # not a raise: first seen
    ]
    assert continuation_rate(SPACE, trials) == pytest.approx((1 + CONTINUATION_PRIOR) / (2 + 1))
    assert continued_from(trials).tolist() == [0.0, 0.05, 0.0, 0.0, 0.0]
    # a trial started before the lower level completed is no raise
    early = [_trial(0.5, 0.05, 5, 0.0), _trial(0.5, 1.0, 5, 0.0)]
    assert continuation_rate(SPACE, early) == CONTINUATION_PRIOR  # no raise seen: the prior
    assert CONTINUATION_PRIOR == 0.5  # halfway: a raise may continue or retrain
    # a level below the config's highest completed one retrains (the trainer keeps the most
    # trained checkpoint; priced from scratch): no raise, so no missed continuation
    lo_hi_mid = [_trial(0.5, 0.05, 0, 0.0), _trial(0.5, 1.0, 1, 0.05), _trial(0.5, 0.5, 2, 0.0)]
    assert continuation_rate(SPACE, lo_hi_mid) == pytest.approx((1 + 0.5) / (1 + 1))
    # above the highest completed level, a raise even when lower levels were seen
    lo_mid_hi = [_trial(0.5, 0.05, 0, 0.0), _trial(0.5, 0.5, 1, 0.05), _trial(0.5, 1.0, 2, 0.0)]
    assert continuation_rate(SPACE, lo_mid_hi) == pytest.approx((1 + 0.5) / (2 + 1))
    # a trainer that never reports continuation retrains: raises cost full price
    silent = [_trial(0.5, 0.05, 0, None), _trial(0.5, 1.0, 1, None)]
    assert continuation_rate(SPACE, silent) == 0.0
    assert np.isnan(continued_from(silent)).all()


@pytest.mark.slow
def test_process_workers_continue_from_a_shared_checkpoint_dir(tmp_path) -> None:
    """Pool children rebuild the trainer from its spec (the checkpoint folder travels) and
    continue configs that another child trained at a lower level."""
    from metarl.trainers import TrainerSpec

    kwargs = {"seed": 0, "fidelity": "epochs", "max_epochs": 6, "checkpoint_dir": str(tmp_path)}
    spec = TrainerSpec("trainer", "torch_mlp", kwargs)
    s = Study(trainer=spec, executor="process", n_workers=2, n_init=4, batch_size=4, seed=0)
    trials = s.optimize(24).trials()
    raised = [t for t in trials if t.user_attrs.get(CONTINUED_FROM, 0) > 0]
    assert raised and all(t.user_attrs[CONTINUED_FROM] < t.params["epochs"] for t in raised)
    assert list(tmp_path.glob("*.ckpt")) and not list(tmp_path.glob("*.tmp"))
