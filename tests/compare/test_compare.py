"""The comparison harness: files, regret, resume, parallelism, policy specs, CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from metarl.benchmarks import load_task
from metarl.compare import (
    COLUMNS,
    checkpoints,
    parse_policies,
    parse_policy,
    rebuild_reports,
    run_comparison,
    run_one,
)
from metarl.compare._runner import resolve_tasks

TASKS = ["hpolib/protein_structure", "nasbench201/cifar10"]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, object]:
    out = tmp_path_factory.mktemp("cmp")
    runs = run_comparison(TASKS, "random,evolution", 2, 12, out_dir=out, progress=False)
    return runs, out


def test_writes_every_file_with_the_protocol_columns(comparison) -> None:
    runs, out = comparison
    for name in ("runs.csv", "summary.md", "regret.png"):
        assert (out / name).stat().st_size > 0, name
    csv = pd.read_csv(out / "runs.csv")
    assert list(csv.columns) == COLUMNS
    # 2 policies x 2 tasks x 2 seeds x checkpoints (10, 12)
    assert len(csv) == 16
    assert sorted(csv["n_evals"].unique()) == [10, 12]
    assert len(list((out / "runs").glob("*.csv"))) == 8
    summary = (out / "summary.md").read_text()
    for heading in ("all tasks", "hpolib", "nasbench201", "Mean rank"):
        assert heading in summary
    assert "| random |" in summary and "| evolution |" in summary


def test_regret_matches_the_task(comparison) -> None:
    runs, _ = comparison
    rng = np.random.default_rng(0)
    for task_name, sub in runs.groupby("task"):
        task = load_task(task_name, 0)
        truth = task.true_values()
        assert np.allclose(sub["norm_regret"], task.normalized_regret(sub["true_value"].to_numpy()))
        for _, row in sub.iterrows():
            hits = np.flatnonzero(np.isclose(truth, row["true_value"], rtol=0, atol=1e-12))
            assert len(hits), "the incumbent's true value is a config's seed-mean"
            M = np.repeat(task.all_matrix()[hits], 64, axis=0)
            recorded = task.sample_observations(M, rng)
            assert np.isclose(recorded, row["best_observed"], rtol=0, atol=1e-12).any()
        for _, run in sub.groupby(["policy", "seed"]):
            best = run.sort_values("n_evals")["best_observed"].to_numpy()
            step = np.diff(best) if task.direction == "minimize" else -np.diff(best)
            assert (step <= 0).all(), "the best observed value never gets worse"


def test_recommended_config_is_the_best_posterior_mean_scored_on_the_clean_truth() -> None:
    from metarl.compare import run_rounds
    from metarl.learners import make_learner
    from metarl.loop import History, recommend, seed_streams

    name, spec = "hpolib/protein_structure:noise3", parse_policy("random")
    rows = run_one(spec, name, 1, budget=12)
    assert np.allclose(rows["rec_regret"], load_task(name, 0).normalized_regret(
        rows["rec_true_value"].to_numpy()))  # fmt: skip
    task = load_task(name, seed_streams(1)["noise"])
    steps = list(run_rounds(spec, task, 1, budget=12))
    M = np.concatenate([s.M for s, _ in steps])
    y = np.concatenate([v for _, v in steps])
    rec = recommend(task.space, History(M, y), make_learner("gp"), direction=task.direction,
                    metric=task.metric, seed=1)  # fmt: skip
    clean = load_task("hpolib/protein_structure", 0)
    assert rows["rec_true_value"].iloc[-1] == pytest.approx(clean.true_value(M[rec : rec + 1])[0])


def test_initial_design_is_shared_and_runs_are_reproducible() -> None:
    a = run_one(parse_policy("random"), TASKS[0], 3, budget=10)
    b = run_one(parse_policy("evolution"), TASKS[0], 3, budget=10)
    c = run_one(parse_policy("random"), TASKS[0], 3, budget=10)
    cols = ["n_evals", "best_observed", "true_value", "norm_regret"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    pd.testing.assert_frame_equal(a[cols], c[cols])


def test_resume_skips_finished_runs(tmp_path) -> None:
    kw = dict(out_dir=tmp_path, progress=False)
    first = run_comparison(TASKS[:1], "random", 2, 12, **kw)
    files = sorted((tmp_path / "runs").glob("*.csv"))
    stamps = {f: f.stat().st_mtime_ns for f in files}
    os.remove(files[0])
    again = run_comparison(TASKS[:1], "random", 2, 12, **kw)
    assert files[0].exists(), "the missing run is run again"
    assert files[1].stat().st_mtime_ns == stamps[files[1]], "a finished run is not rerun"
    pd.testing.assert_frame_equal(
        first.sort_values(COLUMNS[:4]).reset_index(drop=True).drop(columns="seconds"),
        again.sort_values(COLUMNS[:4]).reset_index(drop=True).drop(columns="seconds"),
    )


def test_resume_refuses_other_settings(tmp_path) -> None:
    run_comparison(TASKS[:1], "random", 1, 10, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"budget=12 \(stored: 10\)"):
        run_comparison(TASKS[:1], "random", 1, 12, out_dir=tmp_path, progress=False)


def test_resume_refuses_a_label_reused_for_another_spec(tmp_path) -> None:
    """settings.json records each label's spec: ``d=default(kappa=50.0)`` into a folder
    holding ``d=random``'s runs is refused (it reused them, reported as d, before)."""
    kw = dict(out_dir=tmp_path, progress=False)
    run_comparison(TASKS[:1], "d=random", 1, 10, **kw)
    stamps = {f: f.stat().st_mtime_ns for f in (tmp_path / "runs").glob("*.csv")}
    with pytest.raises(ValueError, match=r"runs of policy 'd' made by another spec: .*name="):
        run_comparison(TASKS[:1], "d=default(kappa=50.0)", 1, 10, **kw)
    with pytest.raises(ValueError, match=r"policy 'd' .*kwargs=\{'n': 2\} \(stored: \{\}\)"):
        run_comparison(TASKS[:1], "d=random(n=2)", 1, 10, **kw)
    # the same spec resumes (nothing rerun), and a new label is added to the record
    run_comparison(TASKS[:1], "d=random, e=random", 1, 10, **kw)
    assert all(f.stat().st_mtime_ns == t for f, t in stamps.items())
    stored = json.loads((tmp_path / "settings.json").read_text())
    assert set(stored["policies"]) == {"d", "e"} and stored["budget"] == 10


def test_a_folder_without_recorded_specs_resumes_and_records_them(tmp_path) -> None:
    kw = dict(out_dir=tmp_path, progress=False)
    run_comparison(TASKS[:1], "d=random", 1, 10, **kw)
    path = tmp_path / "settings.json"
    old = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in old.items() if k != "policies"}))
    with pytest.warns(UserWarning, match=r"records no policy specs .* runs of 'd' are taken"):
        run_comparison(TASKS[:1], "d=random", 1, 10, **kw)
    assert json.loads(path.read_text()) == old
    with pytest.raises(ValueError, match=r"runs of policy 'd' made by another spec"):
        run_comparison(TASKS[:1], "d=evolution", 1, 10, **kw)


def test_parallel_matches_serial(tmp_path) -> None:
    serial = run_comparison(TASKS[:1], "random", 2, 10, out_dir=tmp_path / "a", progress=False)
    parallel = run_comparison(
        TASKS[:1], "random", 2, 10, out_dir=tmp_path / "b", n_jobs=2, progress=False
    )
    cols = ["policy", "task", "seed", "n_evals", "true_value"]
    pd.testing.assert_frame_equal(
        serial[cols].sort_values(cols).reset_index(drop=True),
        parallel[cols].sort_values(cols).reset_index(drop=True),
    )


def test_checkpoints() -> None:
    assert checkpoints(12) == [10, 12]
    assert checkpoints(100) == [10, 25, 50, 100]
    assert checkpoints(5) == [5]


def test_policy_specs() -> None:
    p = parse_policy("edit=ppo(env_id=envs/EditDesign-v0, n_steps=64, learner=forest)")
    assert (p.label, p.name, p.learner) == ("edit", "ppo", "forest")
    assert p.kwargs == {"env_id": "envs/EditDesign-v0", "n_steps": 64}
    specs = parse_policies("random,tpe(n_startup_trials=5),default")
    assert [s.label for s in specs] == ["random", "tpe(n_startup_trials=5)", "default"]
    with pytest.raises(ValueError, match="given twice"):
        parse_policies("random,random")
    with pytest.raises(ValueError, match="key=value"):
        parse_policy("ppo(64)")


def test_task_patterns() -> None:
    assert resolve_tasks("hpolib/*") == [
        "hpolib/naval_propulsion",
        "hpolib/parkinsons_telemonitoring",
        "hpolib/protein_structure",
        "hpolib/slice_localization",
    ]
    with pytest.raises(ValueError, match="matches no task"):
        resolve_tasks("nope/*")


def test_transfer_data_is_the_other_datasets_with_their_context() -> None:
    from metarl.compare import sibling_tasks
    from metarl.loop import load_transfer

    task = load_task("nasbench201/cifar10", 0)
    data = load_transfer(sibling_tasks(task.name), task.space, rng=np.random.default_rng(0))
    X, y, groups = data.X, data.y, data.groups
    assert X.shape == (2 * 200, task.space.encoded_width) and y.shape == (400,)
    ctx = X[:, task.space.feature_slices["dataset"]]
    names = task.space.context["dataset"].choices
    seen = {names[i] for i in ctx.argmax(axis=1)}
    assert seen == {"cifar100", "imagenet"}
    assert [f"dataset={names[i]}" for i in ctx.argmax(axis=1)] == list(groups)


def test_model_based_policy_with_transfer_starts_from_the_learner(tmp_path) -> None:
    spec = "linear_argmax=exhaustive(learner=linear)"
    runs = run_comparison(
        TASKS[1:], spec, 1, 12, out_dir=tmp_path, batch_size=4, transfer=True, progress=False
    )
    assert list(runs["n_evals"]) == [10, 12]
    cold = run_one(parse_policy(spec), TASKS[1], 0, budget=10, batch_size=4)
    warm = run_one(parse_policy(spec), TASKS[1], 0, budget=10, batch_size=4, transfer=True)
    # with transfer, the first evaluations are the learner's picks, not the random design
    assert cold["true_value"].iloc[0] != warm["true_value"].iloc[0]


def test_rebuild_reports_merges_folders(comparison, tmp_path) -> None:
    runs, out = comparison
    merged = rebuild_reports([out], out=tmp_path / "merged", order=["evolution", "random"])
    assert len(merged) == len(runs)
    summary = (tmp_path / "merged" / "summary.md").read_text()
    assert summary.index("| evolution |") < summary.index("| random |")
    with pytest.raises(ValueError, match="no stored run"):
        rebuild_reports(tmp_path / "empty")


def test_default_contender_keeps_the_policy_defaults_until_the_run_knows_transfer() -> None:
    from metarl.compare import parse_policy

    spec = parse_policy("default")
    assert (spec.name, spec.kwargs, spec.learner) == ("auto", None, "gp")
    tuned = parse_policy("d2=default(kappa=1.0)")
    assert tuned.kwargs == {"acquisition": "ucb", "kappa": 1.0}
    # a keyword that is not the acquisition's keeps the run's default acquisition: the
    # predicted mean with transfer data, UCB without (it fell back to UCB under transfer)
    from metarl.loop import make_search_policy

    spread = parse_policy("d3=default(min_distance=3)")
    assert spread.kwargs == {"min_distance": 3}
    space = load_task(TASKS[0]).space
    warm = make_search_policy(spread.name, space, spread.kwargs, transfer=True)
    cold = make_search_policy(spread.name, space, spread.kwargs, transfer=False)
    assert (warm.acquisition, warm.min_distance) == ("mean", 3)
    assert (cold.acquisition, cold.kappa, cold.min_distance) == ("ucb", 2.0, 3)


def test_init_design_spec_key_changes_only_the_initial_design() -> None:
    """``init_design=maximin`` draws another first 10 configs from the same seed's stream;
    an unknown kind is refused in one line naming the spec."""
    plain = run_one(parse_policy("random"), TASKS[0], 3, budget=10)
    spread = run_one(parse_policy("r=random(init_design=maximin)"), TASKS[0], 3, budget=10)
    again = run_one(parse_policy("r=random(init_design=maximin)"), TASKS[0], 3, budget=10)
    assert parse_policy("random").init_design == "random"
    pd.testing.assert_frame_equal(spread.drop(columns="seconds"), again.drop(columns="seconds"))
    assert not np.array_equal(plain["true_value"], spread["true_value"])
    with pytest.raises(ValueError, match="init_design must be one of random, maximin"):
        parse_policy("default(init_design=sobol)")


def test_a_label_reused_with_another_init_design_is_refused(tmp_path) -> None:
    run_comparison(TASKS[:1], ["r=random"], seeds=1, budget=10, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="made by another spec"):
        run_comparison(
            TASKS[:1], ["r=random(init_design=maximin)"], seeds=1, budget=10,
            out_dir=tmp_path, progress=False,
        )  # fmt: skip


def test_a_key_given_twice_in_a_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="key 'kappa' given twice"):
        parse_policy("default(kappa=1, kappa=2)")
