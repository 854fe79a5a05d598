"""Replicates in a Study: the replicate trial, its attribute, and the incumbent by mean."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from metarl.loop import REPLICATE_OF
from metarl.space import Fidelity, Float, SearchSpace
from metarl.study import Study
from metarl.study._replicates import best_by_mean
from metarl.study._trials import history_of

optuna.logging.set_verbosity(optuna.logging.WARNING)

LINE = SearchSpace({"x": Float(0.0, 1.0, bins=41)})


class OneLuckyDraw:
    """``1 + (x - 0.7)^2``, except the first evaluation of a config with x < 0.3, which draws
    0.9: below the optimum, a lucky draw of a mediocre config."""

    def __init__(self) -> None:
        self.lucky: float | None = None
        self.lock = threading.Lock()

    def __call__(self, config: dict) -> dict:
        x = float(config["x"])
        with self.lock:
            if self.lucky is None and x < 0.3:
                self.lucky = x
                return {"loss": 0.9}
        return {"loss": 1.0 + (x - 0.7) ** 2}


def _study(storage=None, replicates=2, trainer=None) -> Study:
    return Study(
        LINE, trainer or OneLuckyDraw(), metric="loss", direction="minimize", learner="gp",
        policy="exhaustive", n_init=8, batch_size=1, seed=0, executor="thread",
        storage=storage, replicates=replicates,
    )  # fmt: skip


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> tuple[Study, str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('rep') / 'r.db'}"
    return _study(storage=url).optimize(14), url


def test_the_lucky_draw_is_replicated_and_stored_as_such(replicated) -> None:
    s, _ = replicated
    done = s.trials((TrialState.COMPLETE,))
    lucky = [t for t in done if t.value == 0.9]
    assert len(lucky) == 1, "the trainer's one lucky draw"
    reps = [t for t in done if REPLICATE_OF in t.user_attrs]
    assert len(reps) == 1
    rep = reps[0]
    assert rep.user_attrs[REPLICATE_OF] == lucky[0].number
    assert rep.params == lucky[0].params and rep.value > 1.0  # the config's true level
    rounds = [r for r in s.rounds if r.get("n_replicates")]
    assert len(rounds) == 1 and rounds[0]["replicate"]["n_evals"] == 1
    # every other trial is a new config
    keys = [tuple(sorted(t.params.items())) for t in done]
    assert len(set(keys)) == len(done) - 1


def test_the_history_holds_both_evaluations(replicated) -> None:
    s, url = replicated
    h = history_of(LINE, s.trials())
    assert len(h) == 14 and len(set(LINE.keys(h.M))) == 13
    # read back in a new process's Study (resumed from the storage): same trials, same rows
    again = _study(storage=url)
    h2 = history_of(LINE, again.trials())
    np.testing.assert_array_equal(h.M, h2.M)
    np.testing.assert_array_equal(h.y, h2.y)


def test_best_trial_and_value_are_by_mean(replicated) -> None:
    s, _ = replicated
    # the lucky config's mean (0.9 and its true level) is no longer the best
    assert s.optuna_study.best_value == 0.9  # Optuna's ranks single trials
    assert s.best_value > 0.9 and s.best_trial.value == s.best_value
    assert s.summary()["best_value"] == s.best_value and s.summary()["best_n_evals"] == 1
    # by hand: group the COMPLETE trials by params, take the lowest mean
    done = s.trials((TrialState.COMPLETE,))
    groups: dict = {}
    for t in done:
        groups.setdefault(tuple(sorted(t.params.items())), []).append(t.value)
    assert s.best_value == pytest.approx(min(np.mean(v) for v in groups.values()))
    rep = next(t for t in done if REPLICATE_OF in t.user_attrs)
    assert len(groups[tuple(sorted(rep.params.items()))]) == 2


def test_a_replicate_becomes_the_incumbent_when_its_mean_is_best() -> None:
    done = [
        optuna.trial.create_trial(params={"x": x}, distributions={"x": d}, value=v)
        for x, v, d in [(0.5, 1.0, None), (0.25, 0.8, None), (0.5, 0.4, None)]
        for d in [optuna.distributions.FloatDistribution(0.0, 1.0)]
    ]
    for i, t in enumerate(done):
        t.number = i
    trial, mean, n = best_by_mean(LINE, done, "minimize")
    assert (trial.number, mean, n) == (0, pytest.approx(0.7), 2)
    assert best_by_mean(LINE, done, "maximize")[0].number == 1
    with pytest.raises(ValueError, match="no trial is complete"):
        best_by_mean(LINE, [], "minimize")


def test_off_by_default_nothing_is_replicated() -> None:
    s = _study(replicates=None).optimize(14)
    done = s.trials((TrialState.COMPLETE,))
    assert not any(REPLICATE_OF in t.user_attrs for t in done)
    assert len({tuple(sorted(t.params.items())) for t in done}) == 14
    assert s.best_value == 0.9 and s.best_trial.number == s.optuna_study.best_trial.number


def test_without_replicates_a_duplicate_config_ranks_as_its_own_trial(tmp_path: Path) -> None:
    # an enqueued duplicate of the best config (no metarl:replicate_of) is not averaged in:
    # best_trial/best_value are Optuna's single best trial, as before replicates
    s = _study(storage=f"sqlite:///{tmp_path / 'd.db'}", replicates=None).optimize(8)
    b = s.best_trial
    assert s.best_value == 0.9
    s.optuna_study.add_trial(
        optuna.trial.create_trial(params=b.params, distributions=b.distributions, value=1.4)
    )
    assert s.best_value == 0.9 and s.best_trial.number == b.number
    assert s.best_trial.number == s.optuna_study.best_trial.number
    summary = s.summary()
    assert summary["best_value"] == 0.9 and "best_n_evals" not in summary


def test_stored_replicates_rank_by_mean_when_reopened_without_the_setting(replicated) -> None:
    s, url = replicated
    again = _study(storage=url, replicates=None)  # the trials carry metarl:replicate_of
    assert (again.best_value, again.best_trial.number) == (s.best_value, s.best_trial.number)
    assert again.summary()["best_n_evals"] == 1


def test_bad_settings_and_a_fidelity_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    with pytest.raises(ValueError, match=r"^replicates: max_evals must be an integer >= 2"):
        _study(storage=url, replicates=1)
    fid = SearchSpace({"x": Float(0.0, 1.0, bins=5), "f": Fidelity(0.1, 1.0)})
    with pytest.raises(ValueError, match=r"^replicates: not supported on a space with a Fidelity"):
        Study(fid, lambda c: {"v": c["x"]}, metric="v", executor="thread", storage=url,
              replicates=2)  # fmt: skip
    assert not (tmp_path / "bad.db").exists()


class FailingReplicate(OneLuckyDraw):
    """:class:`OneLuckyDraw` whose lucky config fails every later evaluation."""

    def __call__(self, config: dict) -> dict:
        with self.lock:
            again = self.lucky is not None and float(config["x"]) == self.lucky
        if again:
            self.calls = getattr(self, "calls", 0) + 1
            raise RuntimeError("the replicate failed")
        return super().__call__(config)


def test_a_failed_replicate_is_not_proposed_again() -> None:
    # it used to be re-proposed (and fail) in every round after it
    trainer = FailingReplicate()
    s = _study(trainer=trainer).optimize(16)
    assert trainer.calls == 1
    failed = s.trials((TrialState.FAIL,))
    assert len(failed) == 1 and REPLICATE_OF in failed[0].user_attrs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policy": "random"}, "^policy 'random': replicates need a model-based policy"),
        (
            {"transfer": ["hpolib/naval_propulsion"]},
            "^replicates: not supported with transfer data",
        ),
    ],
)
def test_replicates_are_refused_where_the_rule_cannot_work(kwargs, match) -> None:
    from metarl.benchmarks import load_task

    space = load_task("hpolib/protein_structure").space
    with pytest.raises(ValueError, match=match) as err:
        Study(space, lambda c: {"v": 1.0}, metric="v", direction="minimize", executor="thread",
              replicates=2, **kwargs)  # fmt: skip
    assert "\n" not in str(err.value)
