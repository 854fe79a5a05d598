"""Creating a study survives a kill between its writes, and a study made by plain Optuna is
adopted while empty (issue 12, item 1). A kill leaves the writes before it: the states are
built by writing a prefix of the creation's writes, in their order."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from metarl.study import StorageError, Study
from metarl.study import _schema as schema
from metarl.study._settings import is_complete, study_attrs
from tests.study._small import small_study
from tests.study._trainers import SPACE

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(url: str, **kw) -> Study:
    return small_study(url, study_name="r", **kw)


def test_a_study_made_by_optuna_create_study_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    optuna.create_study(study_name="r", storage=url)
    s = _study(url).optimize(4)
    assert is_complete(s.optuna_study.user_attrs)
    assert len(s.trials((TrialState.COMPLETE,))) == 4
    # and it is a metarl study from then on: resumed, not adopted again
    assert len(_study(url).optimize(6).trials()) == 6


def _writes() -> list[tuple[str, object]]:
    return study_attrs(SPACE, "loss", {"n_init": 2}, {"kind": "import", "name": "m:f"})


@pytest.mark.parametrize("n_written", range(len(_writes())))
def test_a_kill_between_the_creation_writes_leaves_an_adoptable_study(
    tmp_path: Path, n_written: int
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    killed = optuna.create_study(study_name="r", storage=url)
    for key, value in _writes()[:n_written]:
        killed.set_user_attr(key, value)
    assert not is_complete(killed.user_attrs)  # the fingerprint comes last
    s = _study(url).optimize(2)
    assert is_complete(s.optuna_study.user_attrs)
    assert s.optuna_study.user_attrs[schema.METRIC] == "loss"


def test_a_half_written_study_of_another_space_is_adopted_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    killed = optuna.create_study(study_name="r", storage=url)
    from metarl.space import Integer, SearchSpace

    killed.set_user_attr(schema.SPACE, SearchSpace({"n": Integer(1, 3)}).to_dict())
    s = _study(url)  # nothing was ever evaluated: the stray space is overwritten
    assert s.optuna_study.user_attrs[schema.FINGERPRINT] == SPACE.fingerprint()


def test_a_foreign_study_with_trials_is_refused_with_the_way_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    plain = optuna.create_study(study_name="r", storage=url)
    plain.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(StorageError, match="2 trial.*not a metarl study.*optuna delete-study"):
        _study(url)
    assert plain.user_attrs == {}  # refused before writing anything


def test_an_empty_study_of_another_direction_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    optuna.create_study(study_name="r", storage=url, direction="maximize")
    with pytest.raises(StorageError, match="direction 'maximize', not 'minimize'"):
        _study(url)
