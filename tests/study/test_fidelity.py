"""A Study on a space with a Fidelity: the loop chooses each trial's fidelity, stores it, and
reports the incumbent at full fidelity only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest

from metarl.space import Categorical, Fidelity, Float, SearchSpace
from metarl.study import Study

optuna.logging.set_verbosity(optuna.logging.WARNING)

LOW = 0.05
SPACE = SearchSpace(
    {
        "x": Float(0.0, 1.0, bins=12),
        "m": Categorical(["a", "b"]),
        "f": Fidelity(LOW, 1.0, log=True),
    }
)


def lucky_low(config: dict) -> dict:
    """Maximised; a low fidelity *scores higher* (an overfit small sample): only a
    full-fidelity incumbent is honest."""
    v = -((config["x"] - 0.7) ** 2) + (0.1 if config["m"] == "a" else 0.0)
    return {"acc": v + 0.5 * (1.0 - config["f"])}


def _study(**kw) -> Study:
    kw.setdefault("executor", "thread")
    kw.setdefault("n_workers", 1)
    return Study(SPACE, lucky_low, metric="acc", direction="maximize", **kw)


@pytest.fixture(scope="module")
def study() -> Study:
    return _study(n_init=4, batch_size=2).optimize(16)


def test_each_trial_stores_its_chosen_fidelity(study: Study) -> None:
    trials = study.trials()
    assert len(trials) == 16
    levels = SPACE.params["f"].levels()
    for t in trials:
        assert np.isclose(levels, t.params["f"]).any()
        assert t.user_attrs["metarl:fidelity"] == pytest.approx(t.params["f"])
        reason = t.user_attrs["metarl:fidelity_reason"]
        assert reason in ("design", "cheapest", "gain_per_cost", "promoted")
    # the initial design spans the levels, cheapest first
    assert [t.params["f"] for t in trials[:4]] == pytest.approx(levels)
    fitted = [r for r in study.rounds if r["origin"] not in ("init", "random")]
    assert fitted and all(r["fidelity"] == "f" for r in fitted)
    assert all(sum(r["fidelity_counts"].values()) == r["n_proposed"] for r in fitted)


def test_the_incumbent_is_a_full_fidelity_trial(study: Study) -> None:
    full = [t for t in study.trials() if t.params["f"] == 1.0]
    assert full, "the loop never reached full fidelity"
    assert study.best_trial.number == max(full, key=lambda t: t.value).number
    assert study.best_value == max(t.value for t in full)
    # Optuna's own best ranks the lucky low-fidelity results first
    assert study.optuna_study.best_trial.params["f"] < 1.0
    assert study.summary()["best_config"]["f"] == 1.0


def test_before_any_full_fidelity_result_there_is_no_incumbent() -> None:
    s = _study(n_init=3, batch_size=3).optimize(3)
    assert [t.params["f"] for t in s.trials()] == pytest.approx(SPACE.params["f"].levels()[:3])
    with pytest.raises(ValueError, match="no trial is complete at full fidelity yet"):
        _ = s.best_trial
    assert "best_value" not in s.summary()


def test_a_fidelity_study_needs_the_gp_and_writes_nothing_otherwise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with pytest.raises(ValueError, match=r"^learner ForestLearner: a space with a Fidelity"):
        _study(learner="forest", storage=url)
    assert not (tmp_path / "f.db").exists()


def test_a_space_without_fidelity_keeps_optunas_best() -> None:
    plain = SearchSpace({"x": Float(0.0, 1.0, bins=5)})
    s = Study(plain, lambda c: {"v": c["x"]}, metric="v", direction="maximize",
              executor="thread", n_init=3, batch_size=3, learner="forest").optimize(3)  # fmt: skip
    assert s.fidelity is None and s.best_trial.number == s.optuna_study.best_trial.number


def test_a_log_grid_end_a_rounding_error_above_its_bound_is_stored() -> None:
    """exp(log(0.1)) = 0.10000000000000006 passes metarl's tolerance; Optuna's distribution
    check refuses it unless clipped."""
    from metarl.study._trials import enqueue

    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True, bins=10)})
    end = float(space.params["lr"].grid()[-1])
    study = optuna.create_study()
    enqueue(study, space, [{"lr": end}], {})
    assert study.trials[0].params["lr"] == 0.1


def test_metarl_status_and_best_report_the_full_fidelity_incumbent(tmp_path: Path, capsys) -> None:
    from metarl.cli import main

    url = f"sqlite:///{tmp_path / 'f.db'}"
    s = _study(n_init=4, batch_size=2, storage=url, study_name="f").optimize(12)
    full = s.best_value
    lucky = max(t.value for t in s.trials() if t.value is not None)
    assert lucky > full  # a low-fidelity result scores higher: Optuna's best_value is it
    capsys.readouterr()
    assert main(["status", "--storage", url, "--study", "f"]) == 0
    assert f"best acc = {full:.6g}" in capsys.readouterr().out
    assert main(["best", "--storage", url, "--study", "f", "--n", "50", "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["value"] == pytest.approx(full)
    assert all(r["config"]["f"] == pytest.approx(1.0) for r in rows)


def test_full_fidelity_trials_is_the_one_incumbent_rule() -> None:
    """COMPLETE trials with every fidelity at full, a searched one included; all COMPLETE
    trials of a space without a fidelity; best_full_fidelity ranks only those."""
    from optuna.trial import TrialState, create_trial

    from metarl.space import to_optuna
    from metarl.study._fidelity import best_full_fidelity, full_fidelity_trials

    space = SearchSpace({"x": Float(0.0, 1.0), "f": Fidelity(0.1, 1.0, search=True)})
    dists = to_optuna(space)

    def trial(f: float, value: float | None, state=TrialState.COMPLETE):
        return create_trial(
            params={"x": 0.5, "f": f}, distributions=dists, value=value, state=state
        )

    trials = [
        trial(0.1, 9.0),
        trial(1.0, 1.0),
        trial(1.0, None, TrialState.FAIL),
        trial(1.0, 2.0),
    ]
    assert [t.value for t in full_fidelity_trials(space, trials)] == [1.0, 2.0]
    assert best_full_fidelity(space, trials, "maximize").value == 2.0
    plain = SearchSpace({"x": Float(0.0, 1.0)})
    plain_trials = [
        create_trial(params={"x": v}, distributions=to_optuna(plain), value=v) for v in (0.2, 0.7)
    ]
    assert full_fidelity_trials(plain, plain_trials) == plain_trials
    assert full_fidelity_trials(space, trials[:1]) == []


@pytest.mark.parametrize("policy", ["tpe", "random"])
def test_a_model_free_policy_on_a_fidelity_space_is_refused_before_anything_is_written(
    tmp_path: Path, policy: str
) -> None:
    db = tmp_path / "m.db"
    with pytest.raises(ValueError, match=f"^policy '{policy}'"):
        _study(policy=policy, storage=f"sqlite:///{db}")
    assert not db.exists()
