"""``metarl status``: counts, and the reasons of failures with their counts."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import ANY

import optuna
import pytest
from optuna.trial import TrialState

from metarl.cli import main
from metarl.loop import REPLICATE_OF
from metarl.study._schema import ERROR, WORKER_DIED
from metarl.study._storage import open_storage, pop_waiting, release_trial
from tests.study._stored import stored_study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _fail(study: optuna.Study, reason: str) -> None:
    t = pop_waiting(study._storage, study._study_id)
    study._storage.set_trial_user_attr(t._trial_id, ERROR, reason)
    study.tell(t.number, state=TrialState.FAIL)


def test_status_lists_failure_reasons_with_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = stored_study(open_storage(url), "s", 8)
    for reason in ["trainer returned loss=nan"] * 2 + ["ValueError: bad lr\\n  at line 3"] * 3:
        _fail(study, reason.replace("\\n", "\n"))
    t = pop_waiting(study._storage, study._study_id)
    release_trial(study, t._trial_id, WORKER_DIED)
    assert main(["status", "--storage", url, "--study", "s"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "5 failed" in out and "3 pending" in out  # 2 waiting + the lost trial's copy
    i = lines.index("  failures by reason:")
    assert lines[i + 1].split() == ["3", "ValueError:", "bad", "lr"]  # first line, most first
    assert lines[i + 2].split() == ["2", "trainer", "returned", "loss=nan"]
    assert "1 evaluation(s) lost to dead or interrupted processes, and re-queued" in out


def _lucky_and_repeated(url: str, replicate_attr: bool) -> None:
    """Trials 0-2 (0.1, 0.5, 0.6), then trials 0 and 1 again (1.5, 0.3): means 0.8 and 0.4;
    the repeats carry ``metarl:replicate_of`` when ``replicate_attr``."""
    study = stored_study(open_storage(url), "s", 3)
    for value in (0.1, 0.5, 0.6):
        study.tell(pop_waiting(study._storage, study._study_id).number, value)
    first = study.get_trials(deepcopy=False)
    for t, value in ((first[0], 1.5), (first[1], 0.3)):
        attrs = {REPLICATE_OF: t.number} if replicate_attr else {}
        study.add_trial(
            optuna.trial.create_trial(
                params=t.params, distributions=t.distributions, value=value, user_attrs=attrs
            )
        )


def test_status_and_best_rank_configs_by_mean(tmp_path: Path, capsys) -> None:
    # a lucky single draw (trial 0: 0.1, then 1.5) is not the incumbent: the best mean is
    url = f"sqlite:///{tmp_path / 's.db'}"
    _lucky_and_repeated(url, replicate_attr=True)
    assert main(["status", "--storage", url, "--study", "s"]) == 0
    assert "  best loss = 0.4 (mean of 2 evaluations)" in capsys.readouterr().out.splitlines()
    assert main(["best", "--storage", url, "--study", "s", "--n", "3"]) == 0
    heads = [line for line in capsys.readouterr().out.splitlines() if line.startswith("trial")]
    assert heads == [
        "trial 1: loss = 0.4 (mean of 2 evaluations)",
        "trial 2: loss = 0.6",
        "trial 0: loss = 0.8 (mean of 2 evaluations)",
    ]
    assert main(["best", "--storage", url, "--study", "s", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["trial"], row["value"], row["n_evals"]) == (1, pytest.approx(0.4), 2)


def test_without_replicates_status_and_best_rank_single_trials(tmp_path: Path, capsys) -> None:
    # a config enqueued twice without metarl:replicate_of is two trials, as before replicates
    url = f"sqlite:///{tmp_path / 's.db'}"
    _lucky_and_repeated(url, replicate_attr=False)
    assert main(["status", "--storage", url, "--study", "s"]) == 0
    assert "  best loss = 0.1" in capsys.readouterr().out.splitlines()
    assert main(["best", "--storage", url, "--study", "s", "--n", "3"]) == 0
    heads = [line for line in capsys.readouterr().out.splitlines() if line.startswith("trial")]
    assert heads == ["trial 0: loss = 0.1", "trial 4: loss = 0.3", "trial 1: loss = 0.5"]
    assert main(["best", "--storage", url, "--study", "s", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "trial": 0, "value": pytest.approx(0.1), "config": ANY
    }  # fmt: skip
