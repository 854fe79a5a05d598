"""``metarl worker`` and the study's trainer module: found in the working directory (as
``metarl run`` finds it), and from elsewhere a one-line error that claims no trial."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest

from metarl.space import SearchSpace
from metarl.study import Study
from metarl.study._trials import enqueue
from metarl.trainers import TrainerSpec

TRAINER = "def train(config):\n    return {'loss': config['x']}\n"


@pytest.fixture
def queued(tmp_path: Path) -> Path:
    """``proj/`` holding ``fixstudy_worker_tr.py`` and ``s.db``, a study of its trainer with
    two WAITING trials."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "fixstudy_worker_tr.py").write_text(TRAINER)
    space = SearchSpace.from_dict({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    sys.path.insert(0, str(proj))
    try:
        s = Study(
            space,
            TrainerSpec("import", "fixstudy_worker_tr:train"),
            metric="loss",
            storage=f"sqlite:///{proj / 's.db'}",
            study_name="s",
            executor="none",
            learner="forest",
        )
    finally:
        sys.path.remove(str(proj))
        sys.modules.pop("fixstudy_worker_tr", None)
    enqueue(s.optuna_study, space, space.sample(2, seed=0), {})
    return proj


def _states(proj: Path) -> list[str]:
    st = optuna.load_study(study_name="s", storage=f"sqlite:///{proj / 's.db'}")
    return [t.state.name for t in st.get_trials()]


def test_a_worker_elsewhere_says_it_cannot_build_the_trainer(queued, metarl_script) -> None:
    url = f"sqlite:///{queued / 's.db'}"
    out = metarl_script("worker", "--storage", url, "--study", "s", cwd=queued.parent)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot build the trainer" in lines[0]
    assert "fixstudy_worker_tr" in lines[0]
    assert _states(queued) == ["WAITING", "WAITING"]


@pytest.mark.slow
def test_a_worker_in_the_trainers_folder_imports_it(queued, metarl_script) -> None:
    url = f"sqlite:///{queued / 's.db'}"
    out = metarl_script(
        "worker", "--storage", url, "--study", "s", "--idle-timeout", "1", cwd=queued
    )
    assert out.returncode == 0, out.stderr
    assert "evaluated 2 trial(s)" in out.stdout
    assert _states(queued) == ["COMPLETE", "COMPLETE"]
