"""A worker that cannot build the study's trainer claims nothing (before its loop), and a
trainer that its worker process cannot import is a lost evaluation, re-queued, not a FAIL
of the config."""

from __future__ import annotations

import sys

import optuna
import pytest
from optuna.trial import TrialState

from metarl.study import Study, run_worker
from metarl.study._storage import counts
from metarl.study._trials import enqueue
from metarl.trainers import TrainerSpec
from tests.study._trainers import SPACE

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _queued_study(tmp_path, module: str) -> str:
    """A study of the trainer ``module:train`` (importable only now) with 2 WAITING trials."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / f"{module}.py").write_text("def train(c):\n    return {'loss': c['x']}\n")
    url = f"sqlite:///{tmp_path / 's.db'}"
    sys.path.insert(0, str(folder))
    try:
        s = Study(
            SPACE,
            TrainerSpec("import", f"{module}:train"),
            metric="loss",
            storage=url,
            study_name="s",
            executor="none",
            learner="forest",
        )
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)
        from metarl.trainers import _spec

        _spec._BUILT.clear()
    enqueue(s.optuna_study, SPACE, SPACE.sample(2, seed=0), {})
    return url


def _states(url: str) -> list[str]:
    st = optuna.load_study(study_name="s", storage=url)
    return [t.state.name for t in st.get_trials()]


def test_a_worker_that_cannot_import_the_trainer_stops_before_claiming(tmp_path) -> None:
    url = _queued_study(tmp_path, "fixstudy_tr_a")
    with pytest.raises(ValueError, match=r"cannot build the trainer.*fixstudy_tr_a"):
        run_worker(url, "s", idle_timeout=0.5)
    assert _states(url) == ["WAITING", "WAITING"]


@pytest.mark.slow
def test_a_trainer_its_process_cannot_import_is_requeued_not_failed(tmp_path, monkeypatch) -> None:
    url = _queued_study(tmp_path, "fixstudy_tr_b")
    # this process builds it (the check before the loop passes); the spawned one cannot
    monkeypatch.setattr(TrainerSpec, "build", lambda self: lambda c: {"loss": 0.0})
    with pytest.raises(ValueError, match="cannot build the trainer"):
        run_worker(url, "s", idle_timeout=0.5)
    trials = optuna.load_study(study_name="s", storage=url).get_trials()
    c = counts(trials)
    assert c["failed"] == 0 and c["done"] == 0 and c["pending"] == 2
    lost = [t for t in trials if t.state == TrialState.FAIL]
    assert len(lost) == 1 and lost[0].user_attrs["metarl:error"].startswith("interrupted")
    assert [t.state for t in trials].count(TrialState.WAITING) == 2  # one + the copy
