"""Small real trainers for the loop's tests (importable by module path, so picklable)."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path

from metarl.space import Categorical, Float, Integer, SearchSpace

SPACE = SearchSpace(
    {
        "x": Float(-2.0, 2.0, bins=9),
        "n": Integer(1, 6),
        "opt": Categorical(["sgd", "adam"], ordered=False),
        "momentum": Float(0.0, 0.9, bins=4, active_if={"opt": ["sgd"]}),
    }
)


def quadratic(config: dict) -> dict:
    """A smooth objective; logs every call to $METARL_TEST_LOG (one line per evaluation)."""
    log = os.environ.get("METARL_TEST_LOG")
    if log:
        with Path(log).open("a") as f:
            f.write(repr(sorted(config.items())) + "\n")
    delay = float(os.environ.get("METARL_TEST_DELAY", "0"))
    if delay:
        time.sleep(delay)
    loss = (config["x"] - 0.5) ** 2 + 0.1 * (config["n"] - 3) ** 2
    if "opt" in config:
        loss += 0.3 if config["opt"] == "adam" else 0.2 * config["momentum"]
    return {"loss": loss, "train_time": 0.01 * config["n"]}


def flaky(config: dict) -> dict:
    """Raises for n == 1, returns NaN for n == 2, hangs for n == 3, else quadratic."""
    if config["n"] == 1:
        raise RuntimeError("diverged at step 7")
    if config["n"] == 2:
        return {"loss": math.nan}
    if config["n"] == 3:
        time.sleep(60)
    return quadratic(config)


#: Set to release the calls that :func:`hang_once` holds (tests set it when done).
RELEASE = threading.Event()
_calls = {"n": 0}


def hang_once(config: dict) -> dict:
    """The first call in this process hangs until :data:`RELEASE` is set; the others are
    :func:`quadratic`."""
    _calls["n"] += 1
    if _calls["n"] == 1:
        RELEASE.wait(600)
    return quadratic(config)


def hang(config: dict) -> dict:
    """Never returns (within the 10 minutes any test may take), unless :data:`RELEASE` is
    set in this process."""
    RELEASE.wait(600)
    return quadratic(config)
