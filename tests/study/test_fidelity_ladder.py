"""``Study(fidelity_start=...)``: checked before anything is written, carried to each round's
fidelity choice, and with ``"auto"`` and a continuing trainer no config is sent to full
fidelity from scratch."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from metarl.space import Float, SearchSpace
from metarl.study import Study
from metarl.study import _fidelity as study_fidelity
from metarl.study._fidelity import DEFAULT_FIDELITY_START
from metarl.study._schema import FIDELITY_REASON
from tests.study.test_fidelity_continuation import SPACE, Continuing

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(trainer=None, **kw) -> Study:
    kw = {"executor": "thread", "n_workers": 1, "n_init": 4, "batch_size": 3, **kw}
    return Study(SPACE, trainer or Continuing(), metric="acc", direction="maximize", **kw)


def test_the_start_reaches_every_rounds_fidelity_choice(monkeypatch) -> None:
    seen: list[str] = []
    real = study_fidelity.choose_fidelity

    def spy(*a, **kw):
        seen.append(kw["start"])
        return real(*a, **kw)

    monkeypatch.setattr(study_fidelity, "choose_fidelity", spy)
    s = _study(fidelity_start="auto").optimize(10)
    assert s.fidelity_start == "auto" and seen and set(seen) == {"auto"}
    seen.clear()
    s = _study().optimize(10)
    assert s.fidelity_start == DEFAULT_FIDELITY_START == "full"
    assert seen and set(seen) == {"full"}


def test_with_auto_and_a_continuing_trainer_no_fresh_config_starts_at_full() -> None:
    s = _study(fidelity_start="auto", seed=1).optimize(25)
    trials = sorted(s.trials(), key=lambda t: t.number)
    reached: set[tuple] = set()
    fresh_levels = []
    for t in trials:
        key = (t.params["x"], t.params["m"])
        if t.user_attrs[FIDELITY_REASON] != "design" and key not in reached:
            fresh_levels.append(t.params["f"])
        reached.add(key)
    assert fresh_levels and max(fresh_levels) < 1.0
    assert any(t.params["f"] == 1.0 for t in trials)  # full fidelity is reached by raises


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("ladder", r"^fidelity_start='ladder': expected None or one of \['full', 'low', 'auto'\]"),
        (True, r"^fidelity_start=True: expected None or one of"),
    ],
)
def test_a_bad_start_is_refused_before_anything_is_written(tmp_path: Path, value, match) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    with pytest.raises(ValueError, match=match):
        _study(fidelity_start=value, storage=url)
    assert not (tmp_path / "f.db").exists()


def test_a_start_on_a_space_without_a_fidelity_is_refused_and_none_is_not(tmp_path) -> None:
    plain = SearchSpace({"x": Float(0.0, 1.0, bins=5)})
    url = f"sqlite:///{tmp_path / 'p.db'}"
    kw = {"metric": "v", "direction": "maximize", "executor": "thread", "learner": "forest"}
    with pytest.raises(ValueError, match=r"^fidelity_start='low': the space has no Fidelity"):
        Study(plain, lambda c: {"v": c["x"]}, fidelity_start="low", storage=url, **kw)
    assert not (tmp_path / "p.db").exists()
    assert Study(plain, lambda c: {"v": c["x"]}, **kw).fidelity_start is None
