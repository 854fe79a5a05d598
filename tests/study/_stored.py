"""Stored metarl studies built directly (as a proposer would leave them), so that storage
and worker tests do not depend on ``Study``'s internals."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState, create_trial

from metarl.space import config_to_optuna_params, to_optuna
from metarl.study._schema import FINGERPRINT, METRIC, ORIGIN, SPACE, TRAINER
from metarl.trainers import TrainerSpec
from tests.study._trainers import SPACE as TRAINER_SPACE


def stored_study(storage: BaseStorage, name: str, n: int, seed: int = 0) -> optuna.Study:
    """A metarl study of :func:`tests.study._trainers.quadratic` with ``n`` distinct WAITING
    trials."""
    study = optuna.create_study(study_name=name, storage=storage)
    study.set_user_attr(SPACE, TRAINER_SPACE.to_dict())
    study.set_user_attr(FINGERPRINT, TRAINER_SPACE.fingerprint())
    study.set_user_attr(METRIC, "loss")
    spec = TrainerSpec("import", "tests.study._trainers:quadratic")
    study.set_user_attr(TRAINER, spec.to_dict())
    dists = to_optuna(TRAINER_SPACE)
    M = TRAINER_SPACE.sample_matrix(4 * n, seed)
    keys, configs = TRAINER_SPACE.keys(M), TRAINER_SPACE.to_configs(M)
    seen: set = set()
    for key, cfg in zip(keys, configs):
        if key in seen or len(seen) == n:
            continue
        seen.add(key)
        params = config_to_optuna_params(TRAINER_SPACE, cfg)
        study.add_trial(
            create_trial(
                state=TrialState.WAITING,
                params=params,
                distributions={k: dists[k] for k in params},
                user_attrs={ORIGIN: "init"},
            )
        )
    assert len(seen) == n
    return study


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A throw-away PostgreSQL server on 127.0.0.1: its URL, or None without the binaries."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        yield None
        return
    # the server refuses to run as root: run it as the postgres user where we are root
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="metarl-pg-"))
    if as_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "metarl", "--auth=trust"], **run)
    opts = f"-p {port} -k {root} -h 127.0.0.1"
    start = [*as_user, pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w"]
    subprocess.run([*start, "start"], **run)
    try:
        yield f"postgresql://metarl@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], **run)
        shutil.rmtree(root, ignore_errors=True)
