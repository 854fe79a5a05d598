import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: The installed ``metarl`` console script (pip writes it next to the interpreter).
SCRIPT = Path(sys.executable).parent / "metarl"


@pytest.fixture
def metarl_script() -> Callable[..., subprocess.CompletedProcess]:
    """Run the ``metarl`` script as a user would: in a given folder, no PYTHONPATH."""

    def run(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
        )

    return run
