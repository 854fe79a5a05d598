"""MetaRLSampler(transfer=...): past Optuna studies (or runs) of other datasets warm-start it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import metarl.sampler._sampler as mod
from metarl.learners import ForestLearner
from metarl.sampler import MetaRLSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def quadratic(shift: float):
    """A define-by-run objective whose optimum moves a little from dataset to dataset."""

    def objective(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        x = trial.suggest_float("x", -3.0, 3.0)
        return (x - shift) ** 2 + {"a": 0.0, "b": 1.0, "c": 2.0}[kind]

    return objective


def past_study(shift: float, name: str, storage=None, n: int = 40) -> optuna.Study:
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    study.optimize(quadratic(shift), n_trials=n)
    return study


def _sampler(**kwargs) -> MetaRLSampler:
    return MetaRLSampler(learner=ForestLearner(n_estimators=20), seed=0, **kwargs)


def test_first_trial_is_the_learners_and_runs_replay() -> None:
    past = {"d1": past_study(1.0, "d1"), "d2": past_study(1.4, "d2")}
    runs = []
    for _ in range(2):
        study = optuna.create_study(sampler=_sampler(transfer=past, dataset="new"))
        study.optimize(quadratic(1.2), n_trials=4)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]  # seeded, n_jobs=1: replays
    first = runs[0][0]
    # no random startup: the first trial is in the region the past studies rate best
    assert first["kind"] == "a" and abs(first["x"] - 1.2) < 1.0


def test_rounds_get_the_loaded_transfer_with_the_dataset_as_context(monkeypatch) -> None:
    seen = []
    real = mod.refine

    def spy(space, history, k, **kwargs):
        seen.append((space, kwargs["transfer"], kwargs["policy"]))
        return real(space, history, k, **kwargs)

    monkeypatch.setattr(mod, "refine", spy)
    storage = optuna.storages.InMemoryStorage()
    past_study(1.0, "old", storage=storage, n=30)
    sampler = _sampler(transfer="old")
    study = optuna.create_study(study_name="mine", storage=storage, sampler=sampler)
    study.optimize(quadratic(1.2), n_trials=2)
    space, transfer, policy = seen[0]
    assert space.context_values == {"dataset": "mine"}  # default: the study's name
    # snapped to the design grid, duplicates merged: as load_transfer does for Study
    assert 10 < len(transfer) <= 30 and set(transfer.groups) == {"dataset=old"}
    assert policy.acquisition == "mean"  # the transfer defaults of "auto", as in Study
    assert len(seen) == 2 and seen[1][1] is transfer  # loaded once, reused


def test_trials_dataframe_and_csv_sources(tmp_path: Path) -> None:
    past = past_study(1.0, "d1", n=25)
    df = past.trials_dataframe()
    path = tmp_path / "d2.csv"
    past_study(1.4, "d2", n=25).trials_dataframe().to_csv(path, index=False)
    sampler = _sampler(transfer={"d1": df, "d2": str(path)})
    study = optuna.create_study(sampler=sampler)
    study.optimize(quadratic(1.2), n_trials=3)
    # a table does not reveal the space: the first trial is the independent sampler's
    assert 20 < len(sampler._transfer_cache[1]) <= 50
    assert set(sampler._transfer_cache[1].groups) == {"dataset=d1", "dataset=d2"}


@pytest.mark.parametrize(
    ("transfer", "kwargs", "match"),
    [
        (42, {}, r"transfer: expected a mapping"),
        ([pd.DataFrame({"x": [1.0], "value": [2.0]})], {}, r"a DataFrame needs its dataset"),
        ({"a": 3}, {}, r"a source is an optuna.Study"),
    ],
)
def test_bad_sources_are_refused_at_once(transfer, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        MetaRLSampler(transfer=transfer, **kwargs)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: "nope", r"'nope' is neither a study in the storage of 'mine' nor a CSV file"),
        (lambda: {"mine": past_study(1.0, "x", n=3)}, r"'mine' is the dataset of the study"),
        (lambda: optuna.create_study(direction="maximize"), r"is maximized, the study optimised"),
        (lambda: {"t": pd.DataFrame({"x": [0.5]})}, r"'t': no 'value' column"),
        (lambda: {"t": pd.DataFrame({"y": [0.5], "value": [1.0]})}, r"'t': none of its 1 trials"),
    ],
)
def test_bad_sources_name_the_culprit_in_one_line(make, match) -> None:
    study = optuna.create_study(study_name="mine", sampler=_sampler(transfer=make()))
    with pytest.raises(ValueError, match=match):
        study.optimize(quadratic(1.2), n_trials=2)


@pytest.mark.slow
def test_a_sibling_study_gives_better_first_configs_than_cold() -> None:
    """NAS-Bench-201 cifar10, its sibling cifar100 searched before (100 random trials):
    the best true value of the first 3 trials, mean normalised regret over 4 seeds; a
    seeded run replays."""
    from metarl.benchmarks import load_task

    def objective_for(task):
        def objective(trial: optuna.Trial) -> float:
            cfg = {n: trial.suggest_categorical(n, p.choices) for n, p in task.space.params.items()}
            return float(task(cfg)[task.metric])

        return objective

    regret: dict[str, list[float]] = {"cold": [], "transfer": []}
    trials: dict[tuple[str, int], list[dict]] = {}
    for seed in [0, 1, 2, 3, 0]:  # seed 0 twice: a replay
        sibling = load_task("nasbench201/cifar100", seed)
        past = optuna.create_study(
            study_name="cifar100",
            direction=sibling.direction,
            sampler=optuna.samplers.RandomSampler(seed=seed),
        )
        past.optimize(objective_for(sibling), n_trials=100)
        for kind, kwargs in (("cold", {}), ("transfer", {"transfer": [past]})):
            task = load_task("nasbench201/cifar10", 100 + seed)
            study = optuna.create_study(
                study_name="cifar10",
                direction=task.direction,
                sampler=MetaRLSampler(seed=seed, **kwargs),
            )
            study.optimize(objective_for(task), n_trials=3)
            if (kind, seed) in trials:
                assert [t.params for t in study.trials] == trials[kind, seed]
                continue
            trials[kind, seed] = [t.params for t in study.trials]
            names = list(task.space.params)
            true = [task.true_value({n: t.params[n] for n in names}) for t in study.trials]
            best = max(true) if task.direction == "maximize" else min(true)
            regret[kind].append(float(task.normalized_regret(best)))
    cold, warm = np.mean(regret["cold"]), np.mean(regret["transfer"])
    assert warm < 0.5 * cold, regret


def test_a_parameter_only_past_studies_have_leaves_the_space_after_the_first_trial(
    monkeypatch,
) -> None:
    def old_objective(trial: optuna.Trial) -> float:
        trial.suggest_int("old", 1, 5)
        return quadratic(1.0)(trial)

    past = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    past.optimize(old_objective, n_trials=20)
    spaces = []
    real = mod.refine

    def spy(space, history, k, **kwargs):
        spaces.append(sorted(space.names))
        return real(space, history, k, **kwargs)

    monkeypatch.setattr(mod, "refine", spy)
    study = optuna.create_study(sampler=_sampler(transfer={"old": past}))
    study.optimize(quadratic(1.2), n_trials=3)
    assert "old" in spaces[0]  # before any trial: the past study's space
    assert spaces[1:] == [["kind", "x"], ["kind", "x"]]


def test_a_parameter_whose_range_changed_keeps_this_studys_range(monkeypatch) -> None:
    """A past study searched x in [-3, 3]; this one in [-1, 1]: x stays in the space searched
    (with this study's range), not dropped as a clash and sampled at random for good."""

    def narrow(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        x = trial.suggest_float("x", -1.0, 1.0)
        return (x - 0.5) ** 2 + {"a": 0.0, "b": 1.0, "c": 2.0}[kind]

    spaces = []
    real = mod.refine

    def spy(space, history, k, **kwargs):
        spaces.append(space)
        return real(space, history, k, **kwargs)

    monkeypatch.setattr(mod, "refine", spy)
    study = optuna.create_study(sampler=_sampler(transfer={"wide": past_study(1.0, "wide")}))
    study.optimize(narrow, n_trials=4)
    assert len(spaces) >= 3
    for space in spaces[1:]:
        assert "x" in space.names
        assert (space.params["x"].low, space.params["x"].high) == (-1.0, 1.0)


@pytest.mark.parametrize(
    ("old_kind", "match"),
    [
        ("choices", r"'m' is CategoricalDistribution\(choices=\('p', 'q'\)\) in 'old' but"),
        ("int", r"'x' is IntDistribution\(.*\) in 'old' but FloatDistribution"),
    ],
)
def test_a_past_study_with_other_choices_or_kinds_warns_and_runs(old_kind, match) -> None:
    """A past study that had other categorical choices or another kind of parameter than the
    objective: the first trial takes the other parameters from the past studies' round, that
    one from the independent sampler (with a warning naming it and the source); optimize
    runs (not Optuna's "CategoricalDistribution does not support dynamic value space")."""

    def old_objective(trial: optuna.Trial) -> float:
        if old_kind == "int":
            x = trial.suggest_int("x", 0, 10)
        else:
            x = trial.suggest_float("x", 0.0, 1.0)
        m = trial.suggest_categorical("m", ["p", "q"] if old_kind == "choices" else ["p", "r"])
        return x + (m == "p")

    def new_objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        m = trial.suggest_categorical("m", ["p", "r"])
        return x + (m == "r")

    old = optuna.create_study(study_name="old", sampler=optuna.samplers.RandomSampler(seed=0))
    old.optimize(old_objective, n_trials=20)
    study = optuna.create_study(sampler=_sampler(transfer={"old": old}))
    with pytest.warns(UserWarning, match=match):
        study.optimize(new_objective, n_trials=4)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 4


def test_a_past_study_none_of_whose_trials_fits_names_the_source_and_the_parameter() -> None:
    def old_objective(trial: optuna.Trial) -> float:
        m = trial.suggest_categorical("m", ["q", "s"])
        return trial.suggest_float("x", 0.0, 1.0) + (m == "q")

    def new_objective(trial: optuna.Trial) -> float:
        m = trial.suggest_categorical("m", ["p", "r"])
        return trial.suggest_float("x", 0.0, 1.0) + (m == "p")

    old = optuna.create_study(study_name="old", sampler=optuna.samplers.RandomSampler(seed=0))
    old.optimize(old_objective, n_trials=5)
    study = optuna.create_study(sampler=_sampler(transfer={"old": old}))
    match = r"'old': none of its 5 trials fits .* \(first: parameter 'm': value '[qs]' is not one"
    with pytest.raises(ValueError, match=match):
        study.optimize(new_objective, n_trials=3)
