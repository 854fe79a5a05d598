"""Review 3 defects: what a Study must refuse before it writes, and what is lost, not failed.

- a trainer the process pool cannot send is refused up front; a pool that cannot start (or
  send) releases its trials as lost (re-queued), never as the trainer's FAIL;
- ``executor="none"`` on an in-memory storage (no worker can reach it) is refused;
- a resume with another trainer spec or timeout than the stored ones (which ``metarl
  worker`` serves the study with) is refused, naming what differs.
"""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from metarl.cli import main
from metarl.study import Study, TrainerSpec
from metarl.study import _schema as schema
from metarl.study._executors import GUARD_HINT, PoolError, ProcessExecutor
from metarl.study._storage import StorageError, counts
from tests.study._small import small_study
from tests.study._trainers import quadratic


class Scaled:
    """A trainer built from kwargs (``TrainerSpec("import", ".../Scaled", {"scale": s})``)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def __call__(self, config: dict) -> dict:
        return {"loss": self.scale * quadratic(config)["loss"]}


SCALED = "tests.study.test_review3_guards:Scaled"


def _attrs(url: str) -> tuple[dict, list]:
    st = optuna.load_study(study_name="s", storage=url)
    return st.user_attrs, [(t.number, t.state) for t in st.trials]


# ---------------------------------------------------------------- 1. the process pool


def test_unpicklable_trainer_is_refused_before_anything_is_written(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(ValueError, match=r"trainer '<lambda>': executor='process' cannot send"):
        small_study(url, lambda c: {"loss": c["x"]}, executor="process")
    assert not (tmp_path / "s.db").exists()
    pool = _NoStart(1)
    try:
        with pytest.raises(ValueError, match="cannot send"):  # an Executor instance alike
            small_study(None, lambda c: {"loss": c["x"]}, executor=pool)
    finally:
        pool.shutdown()
    # what pickles by reference (a module-level function, a spec) passes; threads take any
    small_study(None, quadratic, executor="process")
    small_study(None, TrainerSpec("import", SCALED, {"scale": 2}), executor="process")
    small_study(None, lambda c: {"loss": c["x"]}, executor="thread")


class _NoStart(ProcessExecutor):
    """A pool whose worker processes cannot start (as an unguarded script's)."""

    def _start(self, i):
        raise OSError("no process for you")


def test_a_pool_that_cannot_start_loses_its_trials_not_the_trainer(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    pool = _NoStart(1)
    try:
        with pytest.raises(PoolError, match="cannot start a worker process: no process for you"):
            small_study(url, executor=pool).optimize(4)
    finally:
        pool.shutdown()
    trials = optuna.load_study(study_name="s", storage=url).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all(schema.is_lost(t.user_attrs) for t in failed)
    assert "cannot start a worker process" in failed[0].user_attrs[schema.ERROR]
    assert counts(trials)["done"] == 0  # no budget spent
    # a resume with a working executor trains every config, the initial design included
    s = small_study(url)
    s.optimize(4)
    assert counts(s.trials())["done"] == 4
    assert len(s.trials((TrialState.COMPLETE,))) == 4


# ---------------------------------------------------------------- 2. executor='none'


@pytest.mark.parametrize(
    "storage", [None, "sqlite://", "sqlite:///:memory:", optuna.storages.InMemoryStorage()]
)
def test_executor_none_on_an_in_memory_storage_is_refused(storage):
    with pytest.raises(ValueError, match="executor='none' on an in-memory storage"):
        small_study(storage, executor="none")


def test_executor_none_on_a_file_storage_is_accepted(tmp_path):
    s = small_study(f"sqlite:///{tmp_path / 's.db'}", executor="none")
    assert s.optuna_study.user_attrs[schema.METRIC] == "loss"


def test_metarl_run_executor_none_in_memory_says_one_line(tmp_path, capsys):
    cfg = tmp_path / "r.yaml"
    cfg.write_text(
        "space: {x: {type: float, low: 0, high: 1}}\n"
        f"trainer: {SCALED}\nmetric: loss\ndirection: minimize\n"
        'storage: "sqlite://"\nexecutor: none\nn_init: 2\nbatch_size: 2\nbudget: 2\n'
    )
    assert main(["run", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "executor='none' on an in-memory storage" in err[0]


# ---------------------------------------------------------------- 3. resume: one definition


def _spec_study(url: str, scale: float = 1, name: str = SCALED, **kw) -> Study:
    return small_study(url, TrainerSpec("import", name, {"scale": scale}), **kw)


def test_resume_with_other_trainer_kwargs_is_refused_and_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _spec_study(url).optimize(2)
    before = _attrs(url)
    with pytest.raises(StorageError, match=r"trainer_kwargs scale=1, not 1000.*another study_name"):
        _spec_study(url, 1000)
    assert _attrs(url) == before
    _spec_study(url).optimize(4)  # the same spec resumes


def test_resume_with_another_trainer_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _spec_study(url).optimize(2)
    other = "tests.study._trainers:quadratic"
    with pytest.raises(StorageError, match=rf"trainer '{SCALED}', not '{other}'"):
        small_study(url, TrainerSpec("import", other))
    with pytest.raises(StorageError, match=rf"trainer '{SCALED}', not '{other}'"):
        small_study(url, quadratic)  # a plain function importable by name has that spec


def test_resume_with_a_callable_without_spec_works_as_before(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _spec_study(url).optimize(2)
    s = small_study(url, lambda c: Scaled(1)(c))  # nothing to compare: not refused
    s.optimize(4)
    assert counts(s.trials())["done"] == 4
    # and a study that stores no trainer resumes with a spec'd one
    url2 = f"sqlite:///{tmp_path / 't.db'}"
    small_study(url2, lambda c: quadratic(c)).optimize(2)
    assert schema.TRAINER not in _attrs(url2)[0]
    small_study(url2, quadratic).optimize(4)


def test_resume_with_another_timeout_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _spec_study(url, timeout=30).optimize(2)
    with pytest.raises(StorageError, match=r"timeout=30, not 60"):
        _spec_study(url, timeout=60)
    with pytest.raises(StorageError, match=r"timeout=30, not None"):
        _spec_study(url)
    _spec_study(url, timeout=30.0).optimize(4)


UNGUARDED = """
from metarl import Float, SearchSpace, Study
def train(c):
    return {"loss": c["x"]}
s = Study(SearchSpace({"x": Float(0, 1)}), train, metric="loss", direction="minimize",
          storage="sqlite:///u.db", study_name="s", n_init=2, batch_size=2, n_workers=1)
s.optimize(4)
"""


@pytest.mark.slow
def test_an_unguarded_script_stops_with_the_hint_and_spends_no_config(tmp_path):
    (tmp_path / "unguarded.py").write_text(UNGUARDED)
    cmd = [sys.executable, "unguarded.py"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "PoolError: cannot start a worker process" in last and GUARD_HINT in last
    trials = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'u.db'}").trials
    assert counts(trials)["done"] == 0  # the lost trial's config waits again
    assert all(schema.is_lost(t.user_attrs) for t in trials if t.state == TrialState.FAIL)
    assert sum(t.state == TrialState.WAITING for t in trials) == 2
