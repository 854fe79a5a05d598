"""Malformed inputs to the ``metarl`` command: each must give a one-line error that names the
culprit, a non-zero exit and no traceback, and write nothing (issue 12, item 7).

    python benchmarks/reliability_inputs.py          # every case; prints the failures
    python benchmarks/reliability_inputs.py -v       # and each case's message

Each case runs in a fresh folder holding a valid space, a valid run config, a past-runs CSV
and ``base.db``, a SQLite store with a metarl study ``base`` and a plain Optuna study ``plain``
with trials. A case changes one thing (a YAML key, the space, a CSV, a learner file, a storage
URL), runs ``metarl.cli.main`` in this process, and checks: exit code != 0, exactly one line
on stderr, no ``Traceback``, the expected culprit named in it, and every file of the folder
(``base.db`` byte for byte) unchanged, none added.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE = (
    "x: {type: float, low: -2.0, high: 2.0, bins: 9}\n"
    "n: {type: integer, low: 1, high: 6}\n"
    "opt: {type: categorical, choices: [sgd, adam]}\n"
    "momentum: {type: float, low: 0.0, high: 0.9, bins: 4, active_if: {opt: [sgd]}}\n"
)
RUN = (
    "space: space.yaml\ntrainer: 'tests.study._trainers:quadratic'\nmetric: loss\n"
    "learner: forest\npolicy: random\nbudget: 6\nbatch_size: 3\nn_init: 3\n"
    "storage: sqlite:///base.db\nstudy_name: base\nexecutor: thread\n"
)
CSV = "x,n,opt,momentum,loss\n0.5,3,adam,,0.3\n-1.0,2,sgd,0.3,2.4\n1.0,5,sgd,0.6,0.8\n"
BASE = ["run", "run.yaml", "--no-progress"]

#: (case, files to write {name: text}, argv, culprit the message must name)
Case = tuple[str, dict[str, str], list[str], str]


def _run(change: str, new: str, culprit: str, name: str | None = None) -> Case:
    assert change in RUN, change
    return (
        name or f"run.yaml {new.strip()!r}",
        {"run.yaml": RUN.replace(change, new)},
        BASE,
        culprit,
    )


def _add(line: str, culprit: str) -> Case:
    return (f"run.yaml + {line!r}", {"run.yaml": RUN + line + "\n"}, BASE, culprit)


def _space(text: str, culprit: str) -> Case:
    return (f"space.yaml {text.strip()[:40]!r}", {"space.yaml": text}, BASE, culprit)


def _transfer_csv(text: str, culprit: str) -> Case:
    files = {"past.csv": text, "run.yaml": RUN + "transfer: [past.csv]\n"}
    return (f"transfer CSV {text[:30]!r}", files, BASE, culprit)


def _fit(runs: str, text: str | None, culprit: str) -> Case:
    files = {runs: text} if text is not None else {}
    argv = ["learner", "fit", "--runs", runs, "--space", "space.yaml", "--target", "loss"]
    return (
        f"learner fit --runs {runs} {str(text)[:30]!r}",
        files,
        [*argv, "--out", "l.mrl"],
        culprit,
    )


def _propose(text: str | None, culprit: str) -> Case:
    files = {"l.mrl": text} if text is not None else {}
    argv = ["propose", "--learner", "l.mrl", "--space", "space.yaml"]
    return (f"propose --learner {str(text)[:30]!r}", files, argv, culprit)


def _storage(command: str, url: str, study: str, culprit: str) -> Case:
    return (f"{command} {url} {study}", {}, [command, "--storage", url, "--study", study], culprit)


CASES: list[Case] = [
    # ---- the run config
    ("run.yaml invalid YAML", {"run.yaml": "space: [unclosed\n"}, BASE, "invalid YAML"),
    ("run.yaml empty", {"run.yaml": ""}, BASE, "expected a mapping"),
    ("run.yaml a list", {"run.yaml": "- a\n- b\n"}, BASE, "expected a mapping"),
    ("run.yaml a scalar", {"run.yaml": "hello\n"}, BASE, "expected a mapping"),
    ("run.yaml missing", {}, ["run", "nope.yaml"], "nope.yaml"),
    _add("bogus: 1", "bogus"),
    _run("trainer: 'tests.study._trainers:quadratic'\n", "", "'task' or 'trainer'", "no trainer"),
    _add("task: hpolib/naval_propulsion", "'task' or 'trainer'"),
    _run("budget: 6", "budget: six", "budget"),
    _run("budget: 6", "budget: -5", "budget"),
    _run("budget: 6", "budget: 0", "budget"),
    _run("budget: 6", "budget: 1.5", "budget"),
    _run("budget: 6", "budget: true", "budget"),
    _run("batch_size: 3", "batch_size: 0", "batch_size"),
    _run("n_init: 3", "n_init: -1", "n_init"),
    _add("seed: x", "seed"),
    _add("n_workers: 0", "n_workers"),
    _add("heartbeat_interval: 0", "heartbeat_interval"),
    _add("grace_period: 1", "grace_period"),
    _add("grace_period: soon", "grace_period"),
    _add("timeout: abc", "timeout"),
    _add("timeout: -1", "timeout"),
    _add("timeout: true", "timeout"),
    _add("max_consecutive_failures: 0", "max_consecutive_failures"),
    _run("executor: thread", "executor: gpu", "executor"),
    _add("direction: up", "direction"),
    _run("metric: loss", "metric: [a, b]", "metric"),
    _run("learner: forest", "learner: nope", "nope"),
    _run("policy: random", "policy: nope", "nope"),
    _add("learner_kwargs: [1]", "learner_kwargs"),
    _add("learner_kwargs: {bogus: 1}", "bogus"),
    _add("policy_kwargs: {bogus: 1}", "bogus"),
    _add("trainer_kwargs: x", "trainer_kwargs"),
    _run("'tests.study._trainers:quadratic'", "no_such_trainer", "no_such_trainer"),
    _run("'tests.study._trainers:quadratic'", "no_such_module:fn", "no_such_module"),
    _run("'tests.study._trainers:quadratic'", "'tests.study._trainers:nope'", "nope"),
    (
        "task nosuch/task",
        {"run.yaml": RUN.replace("trainer: 'tests.study._trainers:quadratic'", "task: nosuch/t")},
        BASE,
        "nosuch/t",
    ),
    _add("transfer: [nosuch]", "nosuch"),
    _add("transfer: 5", "transfer"),
    _add("transfer: [missing.csv]", "missing.csv"),
    _run("study_name: base", "study_name: [a, b]", "study_name"),
    _run("space: space.yaml", "space: 5", "space"),
    ("--budget -3", {}, [*BASE, "--budget", "-3"], "budget"),
    # ---- the storage of a run
    _run("sqlite:///base.db", "base.db", "expected an RDB URL"),
    _run("storage: sqlite:///base.db", "storage: 5", "storage"),
    _run("sqlite:///base.db", "postgresql://u:pw@127.0.0.1:1/db", "cannot be opened"),
    _run("sqlite:///base.db", "mysql://u@127.0.0.1:1/db", "driver"),
    _run("sqlite:///base.db", "foo://x", "foo://x"),
    _run("study_name: base", "study_name: plain", "not a metarl study"),
    (
        "resume with another space",
        {"space.yaml": SPACE.replace("high: 6", "high: 7")},
        BASE,
        "different space",
    ),
    _run("metric: loss", "metric: train_time", "metric"),
    _add("direction: maximize", "direction"),
    # ---- spaces
    _run("space: space.yaml", "space: missing.yaml", "missing.yaml", "space file missing"),
    _space("x: [unclosed\n", "invalid YAML"),
    _space("- a\n- b\n", "space"),
    _space("x: {type: tensor}\n", "tensor"),
    _space("x: {type: float, low: 2.0, high: 1.0}\n", "x"),
    _space("x: {type: float, low: 0.0, high: 1.0, bins: 0}\n", "bins"),
    _space("c: {type: categorical, choices: []}\n", "c"),
    _space("x: {type: float, low: 0.0, high: 1.0, active_if: {y: [1]}}\n", "y"),
    _space("x: {type: float, low: 0.0, high: 1.0, log: true}\n", "log"),
    _space("x: 5\n", "x"),
    _space("", "space"),
    # ---- CSVs of past runs
    _transfer_csv("x,n,opt,momentum\n0.5,3,adam,\n", "loss"),
    _transfer_csv("", "past.csv"),
    _transfer_csv("x,n,opt,momentum,loss\n0.5,3,adam,,good\n", "loss"),
    _transfer_csv("x,n,opt,momentum,loss\n9.5,3,adam,,0.3\n", "x"),
    _transfer_csv("x,n,opt,momentum,loss\n0.5,3,rmsprop,,0.3\n", "rmsprop"),
    _fit("missing.csv", None, "missing.csv"),
    _fit("empty.csv", "", "empty.csv"),
    _fit("runs.csv", CSV.replace("loss", "acc"), "loss"),
    _fit("runs.csv", CSV.replace("adam", "adamw"), "adamw"),
    # ---- learner files
    _propose(None, "l.mrl"),
    _propose("not a learner\n", "l.mrl"),
    _propose("", "l.mrl"),
    # ---- storages of status, best, worker
    _storage("status", "sqlite:///nope.db", "base", "nope.db"),
    _storage("status", "sqlite:///base.db", "nosuch", "nosuch"),
    _storage("best", "base.db", "base", "expected an RDB URL"),
    _storage("best", "sqlite:///base.db", "plain", "not a metarl study"),
    _storage("worker", "sqlite:///base.db", "plain", "not a metarl study"),
    _storage("worker", "sqlite:///nope.db", "base", "nope.db"),
    _storage("status", "postgresql://u:pw@127.0.0.1:1/db", "base", "cannot be opened"),
]


def _base_db(path: Path) -> None:
    import optuna

    from metarl.space import SearchSpace
    from metarl.study._settings import study_attrs
    from metarl.study._storage import open_storage

    space = SearchSpace.from_dict(__import__("yaml").safe_load(SPACE))
    st = open_storage(f"sqlite:///{path}")
    base = optuna.create_study(study_name="base", storage=st)
    spec = {"kind": "import", "name": "tests.study._trainers:quadratic", "kwargs": {}}
    for key, value in study_attrs(space, "loss", {"n_init": 3}, spec):
        base.set_user_attr(key, value)
    plain = optuna.create_study(study_name="plain", storage=st)
    plain.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)


def _state(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "d"
        for p in folder.rglob("*")
    }


def run_case(case: Case, template: Path) -> tuple[bool, str, str]:
    """(passed, why not, the message)."""
    from metarl.cli import main

    name, files, argv, culprit = case
    work = Path(tempfile.mkdtemp(prefix="metarl-input-"))
    for f in template.iterdir():
        (work / f.name).write_bytes(f.read_bytes())
    for f, text in files.items():
        (work / f).write_text(text)
    before = _state(work)
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse
                code = e.code
            except BaseException:  # noqa: BLE001 - an escaped exception is a finding
                traceback.print_exc()
                code = "raised"
    finally:
        os.chdir(cwd)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    message = lines[-1] if lines else ""
    problems = []
    if code == 0:
        problems.append("exit 0")
    if len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines")
    if "Traceback" in err.getvalue():
        problems.append("traceback")
    if culprit.lower() not in message.lower():
        problems.append(f"culprit {culprit!r} not named")
    after = _state(work)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if changed:
        problems.append(f"written: {changed}")
    return not problems, "; ".join(problems), message or err.getvalue()[-300:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case's message")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    template = Path(tempfile.mkdtemp(prefix="metarl-inputs-"))
    (template / "space.yaml").write_text(SPACE)
    (template / "run.yaml").write_text(RUN)
    (template / "runs.csv").write_text(CSV)
    _base_db(template / "base.db")
    passed = 0
    for case in CASES:
        ok, why, message = run_case(case, template)
        passed += ok
        if not ok or args.verbose:
            print(f"{'ok  ' if ok else 'FAIL'} {case[0]}: {why}\n       {message}")
    print(
        f"{passed}/{len(CASES)} malformed inputs: one-line error naming the culprit, exit != 0, "
        "no traceback, nothing written"
    )


if __name__ == "__main__":
    main()
