"""Replicates in a comparison: the spec option, fresh noise for each replicate, the
incumbent by mean, and runs stored before the column existed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.compare import COLUMNS, parse_policies, parse_policy, rebuild_reports, run_one
from metarl.compare._protocol import run_rounds
from metarl.loop import Replicates, observed_incumbent, seed_streams

NOISY = "hpolib/protein_structure:noise3"
REP = "rep=default(replicates={max_evals: 3, z: 0.0})"  # z 0: any lucky-looking gap


def test_the_spec_option_by_name() -> None:
    spec = parse_policy("rep=default(replicates={max_evals: 3, z: 0.5})")
    plain = parse_policy("default")
    assert spec.replicates == Replicates(max_evals=3, z=0.5) and plain.replicates is None
    # the same policy and learner as the default: only the replicates differ
    assert (spec.name, spec.kwargs, spec.learner) == (plain.name, plain.kwargs, plain.learner)
    assert parse_policy("r2=default(replicates=2)").replicates == Replicates(max_evals=2)
    # commas inside a flow mapping do not split the list
    labels = [p.label for p in parse_policies(f"default,{REP},gp")]
    assert labels == ["default", "rep", "gp"]


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("r=default(replicates=1)", r"policy spec .*max_evals must be an integer >= 2, got 1$"),
        ("r=default(replicates={z: -2})", r"z must be a finite number >= 0, got -2$"),
        ("r=default(replicates={n: 2})", r"unknown key\(s\) \['n'\]"),
    ],
)
def test_bad_settings_are_one_line_errors(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        parse_policy(spec)
    assert "\n" not in str(err.value)


def test_a_model_free_policy_refuses_replicates() -> None:
    with pytest.raises(ValueError, match="replicates need a model-based policy"):
        run_one(parse_policy("random(replicates=2)"), NOISY, 0, budget=12)


def test_transfer_refuses_replicates() -> None:
    # the learner fits normal scores across datasets: the rule would compare scales
    with pytest.raises(ValueError, match="replicates: not supported with transfer data") as err:
        run_one(parse_policy("default(replicates=2)"), NOISY, 0, budget=12, transfer=True)
    assert "\n" not in str(err.value)


def test_replicates_draw_fresh_noise_and_the_incumbent_is_by_mean() -> None:
    spec = parse_policy(REP)
    task = load_task(NOISY, seed_streams(0)["noise"])
    M, y, flagged = np.empty((0, task.space.n_columns)), np.empty(0), 0
    for step, y_new in run_rounds(spec, task, 0, budget=20):
        for row, of in zip(step.M, step.replicate_of):
            if of is not None:
                flagged += 1
                np.testing.assert_array_equal(row, M[of])  # the config's first row
        M, y = np.concatenate([M, step.M]), np.concatenate([y, y_new])
    keys = task.space.keys(M)
    assert flagged > 0 and flagged == len(keys) - len(set(keys))
    # each evaluation drew its own recorded seed: a repeated config has several values
    # (2 recorded seeds under :noise3, so two draws differ half the time)
    by_key: dict = {}
    for k, v in zip(keys, y):
        by_key.setdefault(k, []).append(v)
    repeated = [v for v in by_key.values() if len(v) > 1]
    assert any(len(set(v)) > 1 for v in repeated)
    df = run_one(spec, NOISY, 0, budget=20)
    last = df.iloc[-1]
    assert list(df.columns) == COLUMNS and last["n_replicates"] == flagged
    row, mean, _ = observed_incumbent(task.space, M, y, task.direction)
    assert last["best_observed"] == pytest.approx(mean)
    assert last["true_value"] == pytest.approx(float(task.true_value(M[[row]])[0]))


def test_default_runs_spend_no_replicate_and_old_runs_still_report(tmp_path) -> None:
    df = run_one(parse_policy("default"), NOISY, 1, budget=12)
    assert (df["n_replicates"] == 0).all()
    (tmp_path / "runs").mkdir()
    old = df.drop(columns="n_replicates")  # a run stored before the column existed
    old.to_csv(tmp_path / "runs" / "default__x__1.csv", index=False)
    new = run_one(parse_policy(REP), NOISY, 1, budget=12)
    new.to_csv(tmp_path / "runs" / "rep__x__1.csv", index=False)
    runs = rebuild_reports(tmp_path)
    assert runs["n_replicates"].isna().sum() == len(old)
    summary = (tmp_path / "summary.md").read_text()
    assert ("Mean replicates per run" in summary) == bool(new["n_replicates"].gt(0).any())
    assert pd.read_csv(tmp_path / "runs.csv").shape[0] == len(old) + len(new)
