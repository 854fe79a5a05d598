"""Review 3 (search): a study is refused as a transfer source of itself."""

from __future__ import annotations

import optuna
import pytest

from metarl.loop import load_transfer
from metarl.space import Categorical, Float, SearchSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=5)},
    context={"dataset": Categorical(["a", "b"])},
    context_values={"dataset": "a"},
)


def test_the_study_itself_is_refused_as_a_source_in_one_line() -> None:
    from metarl.study import Study

    s = Study(SPACE, lambda c: {"loss": c["x"]}, metric="loss", policy="random",
              executor="thread", study_name="s", n_init=2)  # fmt: skip
    s.optimize(2)
    # another study's name loads; the study's own name (alone, in a list or a mapping) not
    assert len(load_transfer(["s"], SPACE, metric="loss", storage=s.storage)) == 2
    for sources in ("s", ["s"], [{"b": "s"}]):
        with pytest.raises(ValueError, match=r"^transfer: 's' is the study being optimised"):
            load_transfer(sources, SPACE, metric="loss", storage=s.storage, study_name="s")
    assert len(load_transfer(["s"], SPACE, metric="loss", storage=s.storage, study_name="t")) == 2


def test_study_refuses_its_own_name_as_transfer_on_resume(tmp_path) -> None:
    from metarl.study import Study

    kw = dict(metric="loss", direction="minimize", executor="thread", n_workers=1, n_init=2,
              batch_size=2, storage=f"sqlite:///{tmp_path}/s.db", study_name="s")  # fmt: skip
    Study(SPACE, lambda c: {"loss": c["x"]}, **kw).optimize(2)
    with pytest.raises(ValueError, match=r"^transfer: 's' is the study being optimised"):
        Study(SPACE, lambda c: {"loss": c["x"]}, transfer=["s"], **kw)
    resumed = Study(SPACE, lambda c: {"loss": c["x"]}, **kw)
    assert len(resumed.trials()) == 2  # nothing was written by the refused one
