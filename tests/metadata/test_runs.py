"""Past runs as a learner source: CSV, DataFrame and Optuna study agree; bad input is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.learners import MetaLearner, make_learner
from metarl.metadata import RunData, RunDataError, fit_learner, load_runs
from metarl.space import (
    Boolean,
    Categorical,
    Float,
    Integer,
    SearchSpace,
    Subset,
    config_to_optuna_params,
    to_optuna,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def protein() -> tuple[SearchSpace, pd.DataFrame]:
    """40 noisy runs of HPOLib protein_structure as a table (val_loss, train_time)."""
    task = load_task("hpolib/protein_structure", seed=0)
    M = task.space.sample_matrix(40, seed=1)
    df = pd.DataFrame(task.space.to_configs(M))
    df["val_loss"] = task.sample_observations(M, rng=2)
    df["train_time"] = task.sample_observations(M, rng=3, metric="train_time")
    return task.space, df


def _study(space: SearchSpace, df: pd.DataFrame, attrs: tuple[str, ...] = ()) -> optuna.Study:
    study = optuna.create_study(direction="minimize")
    dists = to_optuna(space)
    params = [c for c in df.columns if c in space.params]
    for rec in df.to_dict("records"):
        cfg = {k: rec[k] for k in params if not pd.isna(rec[k])}
        p = config_to_optuna_params(space, cfg)
        study.add_trial(
            optuna.trial.create_trial(
                params=p,
                distributions={k: dists[k] for k in p},
                value=rec["val_loss"],
                user_attrs={a: rec[a] for a in attrs},
            )
        )
    return study


def test_csv_dataframe_and_study_agree(protein, tmp_path: Path) -> None:
    space, df = protein
    path = tmp_path / "runs.csv"
    df.to_csv(path, index=False)
    from_csv = load_runs(path, space, "val_loss")
    from_df = load_runs(df, space, "val_loss")
    from_study = load_runs(_study(space, df), space, "value")
    for d in (from_csv, from_df, from_study):
        assert isinstance(d, RunData) and len(d) == 40
        assert d.X.shape == (40, space.encoded_width) and d.X.dtype == np.float32
        assert d.y.shape == (40,)
        assert d.context[0] == {"dataset": "protein_structure"}
    np.testing.assert_array_equal(from_csv.X, from_df.X)
    np.testing.assert_array_equal(from_csv.X, from_study.X)
    np.testing.assert_allclose(from_csv.y, from_df.y)
    np.testing.assert_allclose(from_csv.y, from_study.y)
    assert from_csv.configs == from_df.configs == from_study.configs
    assert from_study.directions == ["minimize"] and from_study.rows == list(range(40))
    np.testing.assert_array_equal(space.encode(from_csv.full_configs()), from_csv.X)


def test_study_from_storage_and_user_attr_target(protein, tmp_path: Path) -> None:
    space, df = protein
    url = f"sqlite:///{tmp_path / 'past.db'}"
    study = optuna.create_study(study_name="past", storage=url, direction="maximize")
    for t in _study(space, df, attrs=("train_time",)).trials:
        study.add_trial(t)
    d = load_runs((url, "past"), space, ["value", "train_time"])
    assert d.y.shape == (40, 2) and d.target_names == ["value", "train_time"]
    assert d.directions == ["maximize", "minimize"]  # the study's own, then the default
    np.testing.assert_allclose(d.y[:, 1], df["train_time"])
    with pytest.raises(RunDataError, match="no study 'nope'.*past"):
        load_runs((url, "nope"), space, "value")
    with pytest.raises(RunDataError, match="no target 'val_acc'.*train_time"):
        load_runs(study, space, "val_acc")


def test_study_only_complete_trials_and_suggest_categorical_values(protein) -> None:
    space, df = protein
    study = _study(space, df.head(12))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    assert len(load_runs(study, space, "value")) == 12

    # a plain Optuna study that used suggest_categorical for an ordered choice
    small = SearchSpace({"bs": Categorical([8, 16, 32]), "lr": Float(1e-4, 1e-1, log=True)})

    def objective(trial: optuna.Trial) -> float:
        bs = trial.suggest_categorical("bs", [8, 16, 32])
        return trial.suggest_float("lr", 1e-4, 1e-1, log=True) * bs

    plain = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    plain.optimize(objective, n_trials=8)
    d = load_runs(plain, small, "value")
    assert [c["bs"] for c in d.configs] == [t.params["bs"] for t in plain.trials]


def test_several_targets_and_fit_learner(protein) -> None:
    space, df = protein
    data = load_runs(df, space, ["val_loss", "train_time"], direction=["minimize", "maximize"])
    assert data.y.shape == (40, 2) and data.directions == ["minimize", "maximize"]
    learner, q = fit_learner(data, space, ["val_loss", "train_time"], learner="linear", cv=4)
    assert isinstance(learner, MetaLearner) and learner.n_targets_ == 2
    assert learner.target_names_ == ["val_loss", "train_time"]
    assert set(q) == {"rmse", "r2", "spearman", "kendall", "top10_recall"}
    assert q["spearman"].shape == (2,)
    mean, std = learner.predict(data.X[:3], return_std=True)
    assert mean.shape == std.shape == (3, 2)

    forest = make_learner("forest", n_estimators=10)
    fitted, q1 = fit_learner(df, space, "val_loss", learner=forest, cv=3, seed=0)
    assert fitted is not forest and isinstance(q1["spearman"], float) and q1["spearman"] > 0.3


def test_subsets_conditions_and_item_columns(tmp_path: Path) -> None:
    space = SearchSpace(
        {
            "model": Categorical(["svm", "knn"]),
            "C": Float(0.01, 100.0, log=True, active_if={"model": "svm"}),
            "k": Integer(1, 15, active_if={"model": "knn"}),
            "scale": Boolean(),
            "features": Subset(["a", "b", "c"]),
        }
    )
    rows = "model,C,k,scale,features,score\nsvm,1.5,,True,a|c,0.9\nknn,,3,false,b,0.7\n"
    (tmp_path / "one.csv").write_text(rows)
    items = (
        "model,C,k,scale,features[a],features[b],features[c],score\n"
        "svm,1.5,,1,1,0,1,0.9\nknn,,3,0,0,1,0,0.7\n"
    )
    (tmp_path / "items.csv").write_text(items)
    frame = pd.DataFrame(
        {
            "model": ["svm", "knn"],
            "C": [1.5, None],
            "k": [None, 3],
            "scale": [True, False],
            "features": [("a", "c"), ("b",)],
            "score": [0.9, 0.7],
        }
    )
    got = [load_runs(s, space, "score") for s in (tmp_path / "one.csv", tmp_path / "items.csv")]
    got.append(load_runs(frame, space, "score"))
    expected = [
        {"model": "svm", "C": 1.5, "scale": True, "features": ("a", "c")},
        {"model": "knn", "k": 3, "scale": False, "features": ("b",)},
    ]
    for d in got:
        assert d.configs == expected
        np.testing.assert_array_equal(d.X, got[0].X)
    # a DataFrame written by pandas (tuples as "('a', 'c')") reads back the same
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert load_runs(tmp_path / "pandas.csv", space, "score").configs == expected


def test_context_column_from_several_datasets(protein) -> None:
    space, df = protein
    pooled = pd.concat(
        [df.assign(dataset="protein_structure"), df.assign(dataset="naval_propulsion")]
    )
    bare = SearchSpace(space.params, space.context)  # no context value set
    d = load_runs(pooled.reset_index(drop=True), bare, "val_loss")
    assert [c["dataset"] for c in d.context[39:41]] == ["protein_structure", "naval_propulsion"]
    assert not np.array_equal(d.X[0], d.X[40])  # same config, different context
    with pytest.raises(RunDataError, match=r"missing column\(s\) \['dataset'\]"):
        load_runs(df, bare, "val_loss")


def test_failed_runs_are_skipped_with_a_warning(protein) -> None:
    space, df = protein
    df = df.copy()
    df.loc[[3, 7], "val_loss"] = np.nan
    with pytest.warns(UserWarning, match=r"skipped 2 run\(s\).*row 3"):
        d = load_runs(df, space, "val_loss")
    assert len(d) == 38 and 3 not in d.rows


# ---------------------------------------------------------------------- bad input
def _bad(df: pd.DataFrame, tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "bad.csv"
    if text is None:
        df.to_csv(path, index=False)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("edit", "kwargs", "message"),
    [
        (
            lambda df: df.drop(columns=["init_lr", "dropout_1"]),
            {},
            r"missing column\(s\) \['dropout_1', 'init_lr'\]",
        ),
        (
            lambda df: df.rename(columns={"init_lr": "lr"}),
            {},
            r"missing column\(s\) \['init_lr'\] \(other numeric columns: \['lr', 'train_time'\]\)",
        ),
        (lambda df: df.assign(note="x"), {}, r"unknown column\(s\) \['note'\]"),
        (lambda df: df.drop(columns=["val_loss"]), {}, "no target column 'val_loss'"),
        (
            lambda df: df.assign(val_loss=["oops"] + list(df.val_loss[1:])),
            {},
            r"target column 'val_loss' is not numeric \(line 2: 'oops'\)",
        ),
        (
            lambda df: df.assign(batch_size=[8, 16, 24] + list(df.batch_size[3:])),
            {},
            r"line 4: parameter 'batch_size': value 24.0 is not one of \[8, 16, 32, 64\]",
        ),
        (
            lambda df: df.assign(activation_fn_1=[None] + list(df.activation_fn_1[1:])),
            {},
            "line 2: missing value for active parameter 'activation_fn_1'",
        ),
        (
            lambda df: df.assign(dataset="mnist"),
            {},
            r"line 2: parameter 'dataset': value 'mnist' is not one of",
        ),
        (lambda df: df, {"direction": "up"}, "direction must be 'minimize' or 'maximize'"),
        (lambda df: df.head(0), {}, "no run with a finite value of"),
    ],
)
def test_bad_csv_is_named(protein, tmp_path: Path, edit, kwargs, message) -> None:
    space, df = protein
    path = _bad(edit(df), tmp_path)
    with pytest.raises(RunDataError, match=message) as info:
        load_runs(path, space, "val_loss", **kwargs)
    assert str(path) in str(info.value) or "direction" in message
    assert len(str(info.value).splitlines()) == 1


def test_ignored_and_metric_columns_are_allowed(protein) -> None:
    space, df = protein
    load_runs(df.assign(note="x", seed=3), space, "val_loss", ignore=["note"])


def test_bad_files_and_sources(protein, tmp_path: Path) -> None:
    space, df = protein
    with pytest.raises(RunDataError, match="cannot read"):
        load_runs(tmp_path / "none.csv", space, "val_loss")
    with pytest.raises(RunDataError, match="empty file"):
        load_runs(_bad(df, tmp_path, ""), space, "val_loss")
    with pytest.raises(TypeError, match="source must be"):
        load_runs(42, space, "val_loss")  # type: ignore[arg-type]
    with pytest.raises(RunDataError, match="no database file"):
        load_runs(("sqlite:///" + str(tmp_path / "none.db"), "s"), space, "value")
    small = SearchSpace({"bs": Categorical([8, 16])})
    with pytest.raises(RunDataError, match=r"unknown parameter\(s\) \['activation_fn_1'"):
        load_runs(_study(space, df.head(3)), small, "value")


def test_too_few_rows(protein) -> None:
    space, df = protein
    with pytest.raises(RunDataError, match=r"DataFrame: 6 usable run\(s\).*at least 10"):
        fit_learner(df.head(6), space, "val_loss", learner="linear")
    with pytest.raises(RunDataError, match="at least 12"):
        fit_learner(df.head(11), space, "val_loss", learner="linear", cv=12)


def test_subset_item_column_errors(tmp_path: Path) -> None:
    space = SearchSpace({"f": Subset(["a", "b"]), "x": Float(0.0, 1.0)})
    text = "f[a],f[b],x,y\n1,,0.5,1.0\n"
    with pytest.raises(RunDataError, match=r"line 2: column 'f\[b\]' is empty"):
        load_runs(_bad(pd.DataFrame(), tmp_path, text), space, "y")
    text = "f[a],f[c],x,y\n1,0,0.5,1.0\n"
    with pytest.raises(RunDataError, match=r"missing column\(s\) \['f\[b\]'\]; unknown.*'f\[c\]'"):
        load_runs(_bad(pd.DataFrame(), tmp_path, text), space, "y")
    text = "f,x,y\na|z,0.5,1.0\n"
    with pytest.raises(RunDataError, match=r"line 2: parameter 'f': item 'z' is not one of"):
        load_runs(_bad(pd.DataFrame(), tmp_path, text), space, "y")
    text = "f,x,y\na,2.5,1.0\n"
    with pytest.raises(RunDataError, match=r"line 2: parameter 'x': value 2.5 is outside"):
        load_runs(_bad(pd.DataFrame(), tmp_path, text), space, "y")
