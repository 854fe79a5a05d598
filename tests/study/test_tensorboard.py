"""``Study(tensorboard=DIR)``: each round's learner quality and progress as scalars (the round
is the step), PPO's own SB3 training logs beside them, and a clear error without the package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import optuna
import pytest

from metarl.agents import RandomPolicy
from metarl.learners import ForestLearner
from metarl.study import Study
from tests.study._trainers import SPACE, quadratic

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
#: A PPO small enough for a test: a few hundred timesteps per round.
TINY_PPO = {
    "timesteps": 256,
    "finetune_timesteps": 128,
    "n_envs": 4,
    "n_samples": 64,
    "batch_size": 64,
    "episodes_per_rollout": 4,
    "device": "cpu",
}


def _study(tmp_path: Path, **kw) -> Study:
    return Study(
        SPACE,
        quadratic,
        metric="loss",
        learner=ForestLearner(n_estimators=10),
        executor="thread",
        n_init=3,
        batch_size=3,
        tensorboard=tmp_path / "tb",
        study_name="s",
        **kw,
    )


def _scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(run))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_ppo_study_logs_rounds_and_agent_training(tmp_path: Path) -> None:
    s = _study(tmp_path, policy="ppo", policy_kwargs=TINY_PPO).optimize(12)
    folder = tmp_path / "tb" / "s"
    assert sorted(p.name for p in folder.iterdir()) == ["ppo_0", "rounds"]
    rounds = _scalars(folder / "rounds")
    records = s.rounds
    steps = [r["round"] for r in records]
    assert steps == [0, 1, 2, 3]
    for tag in ("learner/n_train", "learner/fit_s", "policy/propose_s", "study/n_trials"):
        assert [step for step, _ in rounds[tag]] == steps, tag
    assert [v for _, v in rounds["learner/n_train"]] == [r["n_train"] for r in records]
    assert [v for _, v in rounds["study/n_trials"]] == [r["n_done"] for r in records]
    assert [step for step, _ in rounds["learner/cv_spearman"]] == [
        r["round"] for r in records if r["cv_spearman"] is not None
    ]
    best = rounds["study/best_value"]
    assert [v for _, v in best] == sorted((v for _, v in best), reverse=True)  # minimised
    assert best[-1][1] == pytest.approx(s.best_value)
    # the PPO rounds (not the initial design) say what the agent's training did
    ppo_rounds = [r["round"] for r in records if r["origin"] == "ppo"]
    assert ppo_rounds and [step for step, _ in rounds["agent/timesteps"]] == ppo_rounds
    agent = _scalars(folder / "ppo_0")
    # the episode reward is the acquisition of the config the agent built
    for tag in ("rollout/ep_rew_mean", "train/entropy_loss", "train/explained_variance"):
        assert agent[tag], tag
    # SB3's timesteps continue across rounds (one learning curve, not one per round)
    fps = [step for step, _ in agent["time/fps"]]
    assert fps == sorted(set(fps)) and fps[-1] > TINY_PPO["timesteps"]


def test_any_policy_gets_the_round_scalars(tmp_path: Path) -> None:
    s = _study(tmp_path, policy="random").optimize(9)
    folder = tmp_path / "tb" / "s"
    assert [p.name for p in folder.iterdir()] == ["rounds"]
    rounds = _scalars(folder / "rounds")
    assert [step for step, _ in rounds["study/n_trials"]] == [r["round"] for r in s.rounds]
    assert not any(tag.startswith("agent/") for tag in rounds)


class _SeesTensorBoardLog(RandomPolicy):
    """A random policy with SB3's ``tensorboard_log`` setting, recording it at each call."""

    def __init__(self, tensorboard_log: str | None = None, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.tensorboard_log = tensorboard_log
        self.seen: list[str | None] = []

    def propose(self, *args, **kwargs):
        self.seen.append(self.tensorboard_log)
        return super().propose(*args, **kwargs)


def test_the_users_policy_object_keeps_its_tensorboard_log(tmp_path: Path) -> None:
    policy = _SeesTensorBoardLog()
    s = _study(tmp_path, policy=policy)
    assert s.policy is policy and policy.tensorboard_log is None
    s.optimize(9)
    # the study's folder while the rounds ran, the user's setting (None) again after them
    assert policy.seen == [str(tmp_path / "tb" / "s")] * 2
    assert policy.tensorboard_log is None
    # a folder the user chose is theirs: the study does not point it elsewhere
    mine = _SeesTensorBoardLog(tensorboard_log=str(tmp_path / "mine"))
    _study(tmp_path / "other", policy=mine).optimize(6)
    assert mine.seen == [str(tmp_path / "mine")] and mine.tensorboard_log == str(tmp_path / "mine")


def test_a_policy_by_name_keeps_what_its_kwargs_say(tmp_path: Path) -> None:
    kwargs = dict(TINY_PPO)
    s = _study(tmp_path, policy="ppo", policy_kwargs=kwargs)
    assert kwargs == TINY_PPO and s.policy.tensorboard_log is None


def test_a_resumed_study_continues_the_round_steps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _study(tmp_path, policy="random", storage=url).optimize(6)
    _study(tmp_path, policy="random", storage=url).optimize(9)
    rounds = _scalars(tmp_path / "tb" / "s" / "rounds")
    assert [step for step, _ in rounds["study/n_trials"]] == [0, 1, 2]
    assert [v for _, v in rounds["study/n_trials"]] == [3, 6, 9]


def test_without_the_package_one_clear_error_and_nothing_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name)
    )
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with pytest.raises(
        ValueError, match=r"needs the tensorboard package: pip install 'metarl\[tensorboard\]'"
    ):
        _study(tmp_path, policy="random", storage=url)
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "tb").exists()


def test_a_bad_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tensorboard=3: expected a folder path"):
        Study(SPACE, quadratic, metric="loss", tensorboard=3)  # type: ignore[arg-type]
