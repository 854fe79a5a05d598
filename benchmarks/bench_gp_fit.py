"""CPU time and result of GPLearner fits on the training sets of real runs.

Record the (X, z, seed) of every GP fit that one run of the ``default`` contender makes
(``run_rounds``, as ``metarl compare`` runs it), then time ``GPLearner._fit_target`` on
each and write the fitted hyperparameters, so that two versions of the code (e.g. HEAD in a
``git worktree`` on ``PYTHONPATH``) can be compared on the same fits::

    python benchmarks/bench_gp_fit.py record runs/gpfit_fits hpolib/protein_structure
    python benchmarks/bench_gp_fit.py time runs/gpfit_fits new.pkl
    PYTHONPATH=/tmp/base python benchmarks/bench_gp_fit.py time runs/gpfit_fits head.pkl
    python benchmarks/bench_gp_fit.py diff head.pkl new.pkl
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np


def record(out: Path, tasks: list[str], seed: int = 0, budget: int = 100) -> None:
    from metarl.benchmarks import load_task
    from metarl.compare._policies import parse_policy
    from metarl.compare._protocol import run_rounds
    from metarl.learners._gp import GPLearner
    from metarl.loop import seed_streams

    out.mkdir(parents=True, exist_ok=True)
    fits: list[tuple[np.ndarray, np.ndarray, int]] = []
    original = GPLearner._fit_target

    def spy(self, X, z, seed):  # noqa: ANN001, ANN202
        fits.append((np.array(X), np.array(z), int(seed)))
        return original(self, X, z, seed)

    GPLearner._fit_target = spy
    for name in tasks:
        fits.clear()
        task = load_task(name, seed_streams(seed)["noise"])
        for _ in run_rounds(parse_policy("default"), task, seed, budget=budget):
            pass
        with open(out / f"{name.replace('/', '_')}.fits", "wb") as f:
            pickle.dump(list(fits), f)
        print(name, len(fits), "fits")


def time_fits(folder: Path, out: Path) -> None:
    import metarl
    from metarl.learners import GPLearner

    gp = GPLearner()
    result = {}
    for path in sorted(folder.glob("*.fits")):
        fits = pickle.loads(path.read_bytes())
        gp._fit_target(*fits[0])  # warm up (imports, first-call costs)
        cpu, models = 0.0, []
        for X, z, seed in fits:
            t0 = time.process_time()
            models.append(gp._fit_target(X, z, seed))
            cpu += time.process_time() - t0
        result[path.stem] = (cpu, models)
        print(f"{path.stem}: {len(fits)} fits, {cpu:.2f} CPU s ({metarl.__file__})")
    with open(out, "wb") as f:
        pickle.dump(result, f)


def diff(a: Path, b: Path) -> None:
    A, B = pickle.loads(a.read_bytes()), pickle.loads(b.read_bytes())
    for name in A:
        (ca, ma), (cb, mb) = A[name], B[name]
        rel = [
            np.max(np.abs(np.log(x["length_scale"]) - np.log(y["length_scale"])))
            for x, y in zip(ma, mb)
        ]
        same = sum(
            np.array_equal(x["length_scale"], y["length_scale"]) and x["noise"] == y["noise"]
            for x, y in zip(ma, mb)
        )
        rel = np.asarray(rel)
        print(
            f"{name}: CPU {ca:.2f} -> {cb:.2f} s ({cb / ca:.2f}x); bit-identical fits {same}/"
            f"{len(ma)}; max |log ls diff| median {np.median(rel):.1e}, max {rel.max():.1e}, "
            f"fits > 1e-3: {(rel > 1e-3).sum()}"
        )


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "record":
        record(Path(args[0]), args[1:])
    elif cmd == "time":
        time_fits(Path(args[0]), Path(args[1]))
    else:
        diff(Path(args[0]), Path(args[1]))
