"""Run every (policy, task, seed) of a comparison in parallel, resumably."""

from __future__ import annotations

import glob
import json
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from metarl._plugins import import_plugins
from metarl.compare._policies import PolicySpec, parse_policies
from metarl.compare._protocol import COLUMNS, run_one
from metarl.compare._report import write_reports
from metarl.loop import make_search_policy
from metarl.loop._replicates import round_settings


def resolve_tasks(patterns: str | Sequence[str]) -> list[str]:
    """Task names from names and glob patterns (``"hpolib/*,nasbench201/cifar10"``), noisy
    variants included (``"hpolib/*:noise3"``, see :func:`metarl.benchmarks.match_tasks`).

    Raises:
        ValueError: a pattern that matches no registered task (the message lists them), or a
            malformed variant suffix.
    """
    from metarl.benchmarks import list_tasks, match_tasks

    items = patterns.split(",") if isinstance(patterns, str) else list(patterns)
    out: list[str] = []
    for pat in (p.strip() for p in items):
        if not pat:
            continue
        hits = match_tasks(pat)
        if not hits:
            raise ValueError(
                f"task pattern {pat!r} matches no task; known tasks: {list_tasks()}, each also "
                "as a noisy variant such as 'hpolib/protein_structure:noise3'"
            )
        out += [t for t in hits if t not in out]
    if not out:
        raise ValueError("no task given")
    return out


def run_file(out_dir: Path, label: str, task: str, seed: int) -> Path:
    """Where one finished run is stored (``DIR/runs/<policy>__<task>__<seed>.csv``)."""
    return out_dir / "runs" / f"{label}__{task.replace('/', '-')}__{seed}.csv"


def spec_record(spec: PolicySpec) -> dict[str, Any]:
    """The JSON form of what a contender runs (settings.json records it per label)."""
    rec = {
        "name": spec.name,
        "kwargs": spec.kwargs,
        "learner": spec.learner,
        "learner_kwargs": spec.learner_kwargs,
        "replicates": None if spec.replicates is None else spec.replicates.to_dict(),
    }
    # recorded only when set, so that folders written before these keys existed resume
    if spec.past_bests:
        rec["past_bests"] = spec.past_bests
    if spec.init_design != "random":
        rec["init_design"] = spec.init_design
    return json.loads(json.dumps(rec, sort_keys=True, default=repr))


def _check_settings(
    out_dir: Path, settings: dict[str, object], specs: Sequence[PolicySpec] = ()
) -> dict[str, Any] | None:
    """Refuse to resume a folder whose stored runs were made with other settings, or whose
    runs under a label were made by another policy spec; return what settings.json is to
    record (the specs of new labels added; None: unchanged), written once every spec builds.

    A folder written before the specs were recorded (no ``"policies"`` in settings.json)
    resumes as before: its labels' specs are unknown, taken to be the ones given (with a
    warning when a given label has stored runs), and recorded from then on.
    """
    path = out_dir / "settings.json"
    stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if stored:
        diff = {k: (stored.get(k), v) for k, v in settings.items() if stored.get(k) != v}
        if diff:
            what = ", ".join(f"{k}={new!r} (stored: {old!r})" for k, (old, new) in diff.items())
            raise ValueError(f"{out_dir} holds runs made with other settings: {what}")
    known: dict[str, Any] | None = stored.get("policies") if stored else {}
    recorded = dict(known or {})
    for spec in specs:
        new = spec_record(spec)
        old = recorded.get(spec.label)
        if old is not None and old != new:
            what = ", ".join(
                f"{k}={new.get(k)!r} (stored: {old.get(k)!r})"
                for k in sorted(set(old) | set(new))
                if old.get(k) != new.get(k)
            )
            raise ValueError(
                f"{out_dir} holds runs of policy {spec.label!r} made by another spec: {what}; "
                "give this spec another label or another out folder"
            )
        if (
            old is None
            and known is None
            and any((out_dir / "runs").glob(f"{glob.escape(spec.label)}__*.csv"))
        ):
            warnings.warn(
                f"{out_dir}/settings.json records no policy specs (written by an older "
                f"metarl): the stored runs of {spec.label!r} are taken to be those of the "
                "spec given",
                UserWarning,
                stacklevel=3,
            )
        recorded[spec.label] = new
    updated = {**(stored or settings), "policies": recorded}
    return None if updated == stored else updated


def _write_settings(out_dir: Path, record: dict[str, Any]) -> None:
    path = out_dir / "settings.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)


def _check_specs(
    specs: Sequence[PolicySpec],
    task_names: Sequence[str],
    *,
    n_init: int,
    batch_size: int,
    transfer: bool,
) -> None:
    """Build every contender's policy, replicate rule and learner once on each family's
    space, as its runs will, so that a bad spec (a misspelt keyword) or batch size fails
    before any run and before settings.json records it (the folder then takes the fixed
    command).

    Raises:
        ValueError: one line naming the contender and the task whose space it failed on.
    """
    from metarl.benchmarks import load_task, split_task_name
    from metarl.learners import make_learner

    if n_init < 0 or batch_size < 1:
        raise ValueError(f"need n_init >= 0 and batch_size >= 1; got {n_init}, {batch_size}")
    # a family's tasks share one space (variants too); "auto" resolves per space
    first = {split_task_name(t)[0].partition("/")[0]: t for t in reversed(task_names)}
    spaces = {t: load_task(t).space for t in first.values()}
    for spec in specs:
        for task, space in spaces.items():
            try:
                policy = make_search_policy(spec.name, space, spec.kwargs, transfer=transfer)
                round_settings(spec.replicates, policy, spec.label, transfer)
                make_learner(spec.learner, **spec.learner_kwargs)
            except Exception as e:
                raise ValueError(f"policy {spec.label!r} does not build on {task}: {e}") from e


def _import_plugins(modules: Sequence[str]) -> None:
    """:func:`metarl._plugins.import_plugins` with the working directory on the path: a
    repository's own ``envs/`` is not installed, and the ``metarl`` script, unlike ``python
    -m``, does not look there."""
    import_plugins(modules, [Path.cwd()] if modules else [])


def _init_worker() -> None:
    """One thread per worker process: n_jobs processes each running torch (PPO, GP) with
    every core's threads would oversubscribe the machine many times over."""
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def _job(
    spec: PolicySpec,
    task: str,
    seed: int,
    budget: int,
    n_init: int,
    batch_size: int,
    transfer: bool,
    path: Path,
    plugins: Sequence[str],
) -> Path:
    _import_plugins(plugins)
    try:
        df = run_one(
            spec, task, seed, budget=budget, n_init=n_init, batch_size=batch_size, transfer=transfer
        )
    except Exception as e:
        raise RuntimeError(f"run {spec.label!r} on {task!r}, seed {seed}: {e}") from e
    tmp = path.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)  # atomic: a killed run leaves no half-written file behind
    return path


def run_comparison(
    tasks: str | Sequence[str],
    policies: str | Sequence[str | PolicySpec],
    seeds: int | Sequence[int],
    budget: int,
    *,
    out_dir: str | Path,
    n_init: int = 10,
    batch_size: int = 1,
    transfer: bool = False,
    n_jobs: int = 1,
    plugins: Sequence[str] = (),
    progress: bool = True,
) -> pd.DataFrame:
    """Compare search policies on tabular tasks under the protocol of PROTOCOL.md.

    Every finished (policy, task, seed) run is stored as ``out_dir/runs/<policy>__<task>__
    <seed>.csv`` and skipped when the comparison runs again, so an interrupted comparison
    resumes where it stopped. Then ``runs.csv``, ``summary.md`` and ``regret.png`` are rebuilt
    from every stored run of the requested grid.

    Args:
        tasks: task names or glob patterns over :func:`metarl.benchmarks.list_tasks`, as a
            list or a comma-separated string.
        policies: policy specs (``"tpe"``, ``"default"``, ``"edit=ppo(env_id=envs/EditDesign-
            v0)"``), as a list or a comma-separated string; see :func:`parse_policy`.
        seeds: a number of seeds (0..seeds-1) or the seeds themselves.
        budget: evaluations per run.
        out_dir: the output folder (created).
        n_init: random initial configs per run.
        batch_size: configs proposed per round.
        transfer: warm-start model-based policies with the other datasets of the family.
        n_jobs: worker processes (1: run in this process).
        plugins: modules to import first, in this process and in each worker, so that the
            policies, environments and tasks they register are known (e.g. ``["envs"]``).
        progress: show a tqdm progress bar.

    Returns:
        The rows of runs.csv.

    Raises:
        ValueError: a bad task pattern, policy spec, seed count, budget or n_jobs, or an
            ``out_dir`` holding runs made with another budget, n_init, batch_size or
            transfer setting, or runs under a policy's label made by another spec of it
            (``out_dir/settings.json`` records both).
    """
    _import_plugins(plugins)
    task_names = resolve_tasks(tasks)
    specs = parse_policies(policies if isinstance(policies, str) else list(policies))
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError(f"seeds must be >= 1 or a non-empty list, got {seeds!r}")
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    out = Path(out_dir)
    settings = {"budget": budget, "n_init": n_init, "batch_size": batch_size, "transfer": transfer}
    record = _check_settings(out, settings, specs)
    _check_specs(specs, task_names, n_init=n_init, batch_size=batch_size, transfer=transfer)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    if record is not None:
        _write_settings(out, record)
    # seed-major: an interrupted comparison has whole seeds of every (policy, task)
    grid = [(s, t, seed) for seed in seed_list for s in specs for t in task_names]
    todo = [g for g in grid if not run_file(out, g[0].label, g[1], g[2]).exists()]
    args = [
        (s, t, seed, budget, n_init, batch_size, transfer, run_file(out, s.label, t, seed), plugins)
        for s, t, seed in todo
    ]
    bar = tqdm(total=len(grid), initial=len(grid) - len(todo), disable=not progress, desc="runs")
    try:
        if n_jobs == 1:
            for a in args:
                _job(*a)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=n_jobs, initializer=_init_worker) as pool:
                futures = {pool.submit(_job, *a): a for a in args}
                for fut in as_completed(futures):
                    fut.result()
                    bar.update()
    finally:
        bar.close()
    frames = [pd.read_csv(run_file(out, s.label, t, seed)) for s, t, seed in grid]
    runs = pd.concat(frames, ignore_index=True).reindex(columns=COLUMNS)
    write_reports(runs, out, [s.label for s in specs])
    return runs


def rebuild_reports(out_dirs: str | Path | Sequence[str | Path], out: str | Path | None = None,
                    order: Sequence[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Rebuild runs.csv, summary.md and regret.png from the stored runs of one or more
    comparison folders (e.g. an interrupted one, or several to be reported together).

    Args:
        out_dirs: comparison folder(s) holding ``runs/*.csv``.
        out: where to write the reports (default: the first folder).
        order: policy order of the tables and legend (default: sorted).

    Raises:
        ValueError: no stored run in the folders.
    """
    dirs = [Path(out_dirs)] if isinstance(out_dirs, (str, Path)) else [Path(d) for d in out_dirs]
    files = sorted(f for d in dirs for f in (d / "runs").glob("*.csv"))
    if not files:
        raise ValueError(f"no stored run in {[str(d) for d in dirs]}")
    runs = pd.concat([pd.read_csv(f) for f in files], ignore_index=True).reindex(columns=COLUMNS)
    target = Path(out) if out is not None else dirs[0]
    target.mkdir(parents=True, exist_ok=True)
    write_reports(runs, target, order)
    return runs
