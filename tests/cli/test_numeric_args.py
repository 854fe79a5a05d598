"""Numeric options are checked when the arguments are parsed: one line on stderr naming the
option, exit code 2, and nothing claimed or written (``metarl worker --timeout -5`` used to
claim a trial first and lose its evaluation)."""

from __future__ import annotations

import optuna
import pytest

from metarl.cli import main
from metarl.study import Study, run_worker
from metarl.study._trials import enqueue
from tests.study._trainers import SPACE, quadratic

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def url(tmp_path) -> str:
    """A study with two WAITING trials."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    s = Study(
        SPACE, quadratic, metric="loss", storage=url, study_name="s", executor="none",
        learner="forest",
    )  # fmt: skip
    enqueue(s.optuna_study, SPACE, SPACE.sample(2, seed=0), {})
    return url


def _states(url: str) -> list[str]:
    return [t.state.name for t in optuna.load_study(study_name="s", storage=url).get_trials()]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--timeout", "-5"], "--timeout"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "nan"], "--timeout"),
        (["--max-trials", "-1"], "--max-trials"),
        (["--max-trials", "0"], "--max-trials"),
        (["--idle-timeout", "-5"], "--idle-timeout"),
        (["--heartbeat-interval", "0"], "--heartbeat-interval"),
    ],
)
def test_worker_refuses_a_bad_number_before_claiming(url, capsys, args, option) -> None:
    with pytest.raises(SystemExit) as e:
        main(["worker", "--storage", url, "--study", "s", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metarl worker: error: argument " + option)
    assert _states(url) == ["WAITING", "WAITING"]


@pytest.mark.parametrize("n", ["0", "-2", "two"])
def test_best_refuses_n_below_one(url, capsys, n) -> None:
    with pytest.raises(SystemExit) as e:
        main(["best", "--storage", url, "--study", "s", "--n", n])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "argument --n: expected a positive integer" in err[0]


@pytest.mark.parametrize(
    ("kw", "named"),
    [({"timeout": -5}, "timeout"), ({"max_trials": -1}, "max_trials"),
     ({"idle_timeout": -5}, "idle_timeout")],
)  # fmt: skip
def test_run_worker_refuses_a_bad_number_before_claiming(url, kw, named) -> None:
    with pytest.raises(ValueError, match=named):
        run_worker(url, "s", **kw)
    assert _states(url) == ["WAITING", "WAITING"]


def test_inf_seconds_mean_no_limit() -> None:
    import math

    from metarl.cli._common import non_negative_float, positive_float
    from metarl.study._worker import _check_args

    assert positive_float("inf") == math.inf and non_negative_float("inf") == math.inf
    _check_args(None, math.inf, math.inf)  # as the executors take it: no limit
    with pytest.raises(ValueError, match="timeout"):
        _check_args(None, 1.0, math.nan)
