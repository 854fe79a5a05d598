"""Study(transfer=[its own name]) is refused in one line before anything is written: its own
trials would count twice (as history and as another dataset's past runs)."""

import optuna
import pytest

from metarl import Categorical, Float, SearchSpace, Study

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0)}, context={"dataset": Categorical(["a", "b"])}
).with_context(dataset="a")


def _train(config: dict) -> dict:
    return {"loss": config["x"]}


def test_the_study_itself_is_refused_as_a_transfer_source(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    kw = dict(metric="loss", direction="minimize", executor="thread", n_init=2, batch_size=2,
              storage=url, study_name="s")  # fmt: skip
    Study(SPACE, _train, **kw).optimize(2)
    with pytest.raises(ValueError, match=r"^transfer: 's' is the study being optimised"):
        Study(SPACE, _train, transfer=["s"], **kw)
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 2
