"""MetaRLSampler with replicates: a lucky-looking incumbent is asked again, as a new trial
that names the one it replicates."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from metarl.loop import REPLICATE_OF
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


class OneLuckyDraw:
    """``1 + (x/40 - 0.7)^2`` over x in 0..40, except the first trial with x < 12, which
    draws 0.9: below the optimum, a lucky draw of a mediocre config."""

    def __init__(self) -> None:
        self.lucky: int | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 40)
        if self.lucky is None and x < 12:
            self.lucky = trial.number
            return 0.9
        return 1.0 + (x / 40 - 0.7) ** 2


def _run(replicates) -> list[optuna.trial.FrozenTrial]:
    sampler = MetaRLSampler(
        learner="gp", policy="exhaustive", n_startup_trials=8, seed=0, replicates=replicates
    )
    study = optuna.create_study(sampler=sampler)
    for x in (2, 20, 36, 14, 30, 8, 25, 40):  # the startup trials: x = 2 is the lucky draw
        study.enqueue_trial({"x": x})
    objective = OneLuckyDraw()
    study.optimize(objective, n_trials=14)
    assert objective.lucky == 0
    return study.get_trials(states=(TrialState.COMPLETE,))


def test_the_lucky_trial_is_replicated_with_its_attribute() -> None:
    done = _run(replicates=2)
    lucky = next(t for t in done if t.value == 0.9)
    reps = [t for t in done if REPLICATE_OF in t.user_attrs]
    assert len(reps) == 1
    assert reps[0].user_attrs[REPLICATE_OF] == lucky.number
    assert reps[0].params == lucky.params and reps[0].value > 1.0
    # the other trials are all new configs
    xs = [t.params["x"] for t in done]
    assert len(set(xs)) == len(done) - 1


def test_off_by_default_no_trial_repeats() -> None:
    done = _run(replicates=None)
    assert not any(REPLICATE_OF in t.user_attrs for t in done)
    assert len({t.params["x"] for t in done}) == len(done)


def test_a_bad_setting_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"^replicates: z must be a finite number >= 0"):
        MetaRLSampler(replicates={"z": -1.0})


def test_a_pruned_replicate_is_not_asked_again() -> None:
    # it used to come back, pruned, in every trial after it
    seen: dict[int, int] = {}

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 40)
        seen[x] = seen.get(x, 0) + 1
        if x == 2 and seen[x] > 1:
            raise optuna.TrialPruned()
        return 0.9 if x == 2 else 1.0 + (x / 40 - 0.7) ** 2

    sampler = MetaRLSampler(
        learner="gp", policy="exhaustive", n_startup_trials=8, seed=0, replicates=2
    )
    study = optuna.create_study(sampler=sampler)
    for x in (2, 20, 36, 14, 30, 8, 25, 40):
        study.enqueue_trial({"x": x})
    study.optimize(objective, n_trials=14)
    assert seen[2] == 2  # the first evaluation and one (pruned) replicate
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert len(pruned) == 1 and pruned[0].user_attrs[REPLICATE_OF] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"policy": "random"}, "policy 'random': replicates need a model-based policy"),
        ({"policy": "tpe"}, "policy 'tpe': replicates need a model-based policy"),
        ({"transfer": {"other": "past_study"}}, "replicates: not supported with transfer"),
    ],
)
def test_replicates_are_refused_where_the_rule_cannot_work(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match) as err:
        MetaRLSampler(replicates=2, **kwargs)
    assert "\n" not in str(err.value)
