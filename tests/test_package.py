"""What ``import metarl`` gives a user: the Gymnasium env id, the version, a curated
``metarl.agents``; each checked in a fresh interpreter, as a user's script would see it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import metarl
import metarl.agents
from metarl._version import __version__

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, tmp_path: Path) -> str:
    """Run ``code`` in a fresh interpreter from an empty folder; its stdout."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


GYM = """
import json, sys
import gymnasium
import metarl
heavy = [m for m in ("torch", "stable_baselines3", "metarl.envs") if m in sys.modules]
from metarl.learners import LinearLearner
from metarl.space import Categorical, Integer, SearchSpace

space = SearchSpace({"a": Integer(1, 4), "b": Categorical(["x", "y"])})
M = space.sample_matrix(20, 0)
X = space.encode_matrix(M)
learner = LinearLearner().fit(X, X.sum(axis=1))
env = gymnasium.make("metarl/Design-v0", space=space, learner=learner)
obs, _ = env.reset(seed=0)
done, info = False, {}
while not done:
    obs, reward, done, _, info = env.step(env.action_space.sample())
print(json.dumps({"heavy": heavy, "config": info["config"]}))
"""


def test_import_metarl_registers_the_design_env_without_importing_it(tmp_path: Path) -> None:
    out = json.loads(_python(GYM, tmp_path))
    assert out["heavy"] == []  # registered by "module:Class" string: no env code imported
    assert set(out["config"]) == {"a", "b"}


def test_registering_again_is_harmless(tmp_path: Path) -> None:
    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "import metarl, metarl.envs, metarl._gym as g\n"
        "g.register_envs()\n"
        "import gymnasium; print(gymnasium.spec('metarl/Design-v0').entry_point)"
    )
    assert _python(code, tmp_path).endswith(":DesignEnv")


def test_version_has_one_source() -> None:
    assert metarl.__version__ == __version__ == version("metarl")


def test_agents_public_api(tmp_path: Path) -> None:
    public = set(metarl.agents.__all__)
    assert {"PPOPolicy", "SearchPolicy", "ScoredPolicy", "PolicyTestCase", "make_policy"} <= public
    assert {"register_policy", "available_policies"} <= public
    assert not public & {"TopK", "mutate", "select_top", "make_policy_for", "GridSampler"}
    code = (
        "import sys, metarl.agents as a\n"
        "before = 'stable_baselines3' in sys.modules\n"
        "names = [n for n in a.__all__ if getattr(a, n, None) is None]\n"
        "print(before, names, a.PPOPolicy is type(a.make_policy('ppo')))"
    )
    # PPOPolicy (SB3, torch) is imported on first access only; every public name resolves
    assert _python(code, tmp_path) == "False [] True"
