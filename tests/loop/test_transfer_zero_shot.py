"""Zero-shot portfolios from transfer data alone, and their held-out check."""

from __future__ import annotations

import numpy as np
import pytest

from metarl.learners import ForestLearner
from metarl.loop import load_transfer
from metarl.loop._transfer import holdout_scores, zero_shot
from metarl.space import Categorical, Float, SearchSpace

SPACE = SearchSpace(
    {"x": Float(0.0, 1.0, bins=21), "k": Categorical(["p", "q"])},
    context={"dataset": Categorical(["a", "b", "c"])},
    context_values={"dataset": "c"},
)


def _transfer(n: int = 60):
    """Datasets a and b: the same landscape (best at x=0.3, k=p), other offsets and scales."""
    rng = np.random.default_rng(0)
    configs, values = [], []
    for d, (offset, scale) in {"a": (0.0, 1.0), "b": (5.0, 3.0)}.items():
        for x, k in zip(rng.uniform(0, 1, n), rng.choice(["p", "q"], n)):
            configs.append({"x": float(x), "k": str(k), "dataset": d})
            values.append(offset + scale * ((x - 0.3) ** 2 + 0.2 * (k == "q")))
    return load_transfer((configs, values), SPACE)


def test_portfolio_is_the_learners_best_for_the_new_context() -> None:
    data = _transfer()
    assert data.contexts == {"dataset=a": {"dataset": "a"}, "dataset=b": {"dataset": "b"}}
    step = zero_shot(SPACE, data, 3, learner=ForestLearner(n_estimators=30), seed=0)
    assert len(step.configs) == 3 and step.record["n_train"] == len(data)
    assert step.configs[0]["k"] == "p" and abs(step.configs[0]["x"] - 0.3) <= 0.1
    again = zero_shot(SPACE, data, 3, learner=ForestLearner(n_estimators=30), seed=0)
    assert again.configs == step.configs  # seeded: replays


def test_holdout_ranks_each_dataset_by_the_others() -> None:
    rows = holdout_scores(SPACE, _transfer(), ForestLearner(n_estimators=30), ks=(1, 5))
    assert [r["dataset"] for r in rows] == ["dataset=a", "dataset=b"]
    for r in rows:
        assert r["n"] <= 60 and r["random1"] == pytest.approx(
            (r["n"] + 1) / 2 / r["n"] - 1 / r["n"]
        )
        assert r["top1"] < 0.15 and r["top5"] <= r["top1"] < r["random1"]


def test_zero_shot_needs_transfer_data() -> None:
    with pytest.raises(ValueError, match="zero-shot proposals need transfer data"):
        zero_shot(SPACE, None, 3, learner=ForestLearner())  # type: ignore[arg-type]


def test_a_mapping_names_the_dataset_of_a_table_without_it() -> None:
    import pandas as pd

    from metarl.benchmarks import load_task

    df = pd.DataFrame({"x": [0.1, 0.5, 0.9], "k": ["p", "q", "p"], "value": [3.0, 1.0, 2.0]})
    data = load_transfer([{"a": df}, {"b": df.assign(value=[1.0, 2.0, 3.0])}], SPACE)
    assert set(data.groups.tolist()) == {"dataset=a", "dataset=b"}
    assert data.contexts["dataset=b"] == {"dataset": "b"}
    plain = load_transfer([df], SPACE)  # no context column: the space's own value
    assert set(plain.groups.tolist()) == {"dataset=c"}
    with pytest.raises(ValueError, match=r"transfer: 'z': not a value of 'dataset'"):
        load_transfer({"z": df}, SPACE)
    slice_space = load_task("hpolib/slice_localization").space
    with pytest.raises(ValueError, match=r"task 'hpolib/naval_propulsion' names its dataset"):
        load_transfer({"naval_propulsion": "hpolib/naval_propulsion"}, slice_space)
    with pytest.raises(ValueError, match=r"the space has 0"):
        load_transfer({"a": df}, SearchSpace({"x": Float(0.0, 1.0)}))
