"""``metarl run``: the direction read from the metric's name (or required), relative paths
read from the config's folder whatever the working directory, TensorBoard logs by key or
flag, and the help and errors pointing to docs/CONFIG.md."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from metarl.cli import main

SPACE = "x: {type: float, low: -2.0, high: 2.0, bins: 9}\nn: {type: integer, low: 1, high: 6}\n"
TRAINER = '''
def train(config):
    """A user's trainer that reports an accuracy-like score and a bare loss."""
    loss = (config["x"] - 0.5) ** 2 + 0.1 * (config["n"] - 3) ** 2
    return {"cv_acc": 1.0 - loss, "loss": loss, "mystery": loss}
'''
RUN = (
    "space: space.yaml\ntrainer: my_trainer:train\nmetric: loss\nlearner: forest\n"
    "policy: random\nbudget: 6\nbatch_size: 3\nn_init: 3\nstorage: sqlite:///t.db\n"
    "executor: thread\n"
)
#: Past runs of the same space (transfer data), next to the config.
PAST = "x,n,loss\n0.5,3,0.0\n1.0,2,0.35\n-1.0,5,2.65\n0.0,4,0.35\n1.5,1,1.4\n"


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``proj/`` holds the config, its space and trainer; the working directory is another
    folder, ``elsewhere/``, holding a decoy ``space.yaml`` of another space."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "space.yaml").write_text(SPACE)
    (proj / "my_trainer.py").write_text(TRAINER)
    (proj / "past.csv").write_text(PAST)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    (cwd / "space.yaml").write_text("z: {type: integer, low: 0, high: 3}\n")
    monkeypatch.chdir(cwd)
    return proj


def _run(proj: Path, text: str, *flags: str) -> int:
    (proj / "run.yaml").write_text(text)
    return main(["run", str(Path("..") / "proj" / "run.yaml"), "--no-progress", *flags])


def _direction(study: str = "run") -> str:
    return optuna.load_study(study_name=study, storage="sqlite:///t.db").direction.name.lower()


@pytest.mark.parametrize(
    ("metric", "direction", "why"),
    [("cv_acc", "maximize", "'acc' in its name"), ("loss", "minimize", "'loss' in its name")],
)
def test_the_direction_is_read_from_the_metric_name_and_said(
    proj: Path, capsys: pytest.CaptureFixture, metric: str, direction: str, why: str
) -> None:
    assert _run(proj, RUN.replace("metric: loss", f"metric: {metric}")) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert f": {metric} ({direction}: {why})," in first
    assert _direction() == direction


def test_a_given_direction_wins_and_is_said(proj: Path, capsys: pytest.CaptureFixture) -> None:
    assert _run(proj, RUN.replace("metric: loss", "metric: cv_acc\ndirection: minimize")) == 0
    assert ": cv_acc (minimize: the direction key)," in capsys.readouterr().err
    assert _direction() == "minimize"


def test_a_name_that_does_not_say_needs_the_key(proj: Path, capsys: pytest.CaptureFixture) -> None:
    assert _run(proj, RUN.replace("metric: loss", "metric: mystery")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("metarl run: error: ") and "\n" not in err
    assert "whether metric 'mystery' is minimized or maximized" in err
    assert "add 'direction: minimize' or 'direction: maximize' (see docs/CONFIG.md)" in err
    assert not Path("t.db").exists()


def test_relative_paths_are_read_from_the_configs_folder(
    proj: Path, capsys: pytest.CaptureFixture
) -> None:
    # space.yaml and past.csv of proj/, not the working directory's decoy; tensorboard too
    assert _run(proj, RUN + "transfer: [past.csv]\ntensorboard: tb\n") == 0
    out = capsys.readouterr().out
    assert "6 evaluations (0 failed)" in out
    assert set(optuna.load_study(study_name="run", storage="sqlite:///t.db").best_params) == {
        "x",
        "n",
    }
    assert list((proj / "tb" / "run" / "rounds").glob("events.out.tfevents.*"))
    assert f"TensorBoard: tensorboard --logdir {Path('..') / 'proj' / 'tb'}" in out
    assert not Path("tb").exists()
    # the SQLite URL stays where metarl status finds it: the working directory
    assert Path("t.db").exists() and not (proj / "t.db").exists()


def test_the_transfer_csv_is_used(proj: Path, capsys: pytest.CaptureFixture) -> None:
    # with transfer data there is no random initial design: the first round is fitted
    run = RUN.replace("policy: random", "policy: exhaustive") + "transfer: [past.csv]\n"
    assert _run(proj, run) == 0
    table = capsys.readouterr().out.split("cv_spearman\n", 1)[1].splitlines()
    assert table[0].split()[:3] == ["0", "exhaustive", "5"]  # the 5 past runs


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("transfer: [nope.csv]\n", "transfer file '../proj/nope.csv' not found"),
        ("tensorboard: [a]\n", "tensorboard must be a folder (or null)"),
    ],
)
def test_bad_paths_are_one_line(
    proj: Path, capsys: pytest.CaptureFixture, extra: str, message: str
) -> None:
    assert _run(proj, RUN + extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not Path("t.db").exists()


def test_a_missing_space_file_names_the_configs_folder(
    proj: Path, capsys: pytest.CaptureFixture
) -> None:
    (proj / "space.yaml").unlink()  # the working directory's space.yaml is not read instead
    assert _run(proj, RUN) == 2
    err = capsys.readouterr().err.strip()
    assert "space file '../proj/space.yaml' not found (a relative path is read from" in err


def test_the_tensorboard_flag_overrides_the_key(proj: Path, capsys: pytest.CaptureFixture) -> None:
    assert _run(proj, RUN + "tensorboard: tb\n", "--tensorboard", "logs") == 0
    assert list(Path("logs", "run", "rounds").glob("events.out.tfevents.*"))  # from the cwd
    assert not (proj / "tb").exists()
    assert "TensorBoard: tensorboard --logdir logs" in capsys.readouterr().out


def test_help_and_unknown_keys_point_to_the_config_doc(
    proj: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "docs/CONFIG.md" in out and "--tensorboard DIR" in out
    assert _run(proj, RUN + "bogus: 1\n") == 2
    assert "(see docs/CONFIG.md)" in capsys.readouterr().err


def test_the_replicates_key_reaches_the_study(proj: Path) -> None:
    from metarl.study._schema import round_records

    run = RUN.replace("policy: random", "policy: exhaustive")
    assert _run(proj, run + "study_name: rep\nreplicates: {max_evals: 3, z: 0.5}\n") == 0
    assert _run(proj, run + "study_name: plain\n") == 0
    rounds = {
        name: [
            r
            for r in round_records(
                optuna.load_study(study_name=name, storage="sqlite:///t.db").user_attrs
            )
            if r["origin"] != "init"
        ]
        for name in ("rep", "plain")
    }
    assert rounds["rep"] and all("n_replicates" in r for r in rounds["rep"])
    assert rounds["plain"] and not any("n_replicates" in r for r in rounds["plain"])


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("1", "replicates: max_evals must be an integer >= 2, got 1"),
        ("{zz: 1}", r"replicates: unknown key\(s\) \['zz'\]"),
        ("often", "replicates='often': expected None, True, an integer"),
    ],
)
def test_a_bad_replicates_key_is_one_line(
    proj: Path, capsys: pytest.CaptureFixture, value: str, match: str
) -> None:
    assert _run(proj, RUN + f"replicates: {value}\n") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "run.yaml: " in err
    assert re.search(match, err), err
    assert not Path("t.db").exists()


def test_replicates_with_a_model_free_policy_is_refused_in_one_line(
    proj: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _run(proj, RUN + "replicates: 2\n") == 2  # RUN's policy is random
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "policy 'random': replicates need a model-based policy" in err


def test_the_fidelity_start_key_reaches_the_study(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metarl.study

    given = []

    class Spy(metarl.study.Study):
        def __init__(self, *a, **kw) -> None:
            given.append(kw["fidelity_start"])
            super().__init__(*a, **kw)

    monkeypatch.setattr(metarl.study, "Study", Spy)
    assert _run(proj, RUN) == 0
    assert given == [None]  # the default: the Study's own


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (
            "ladder",
            r"run\.yaml: fidelity_start must be one of \['full', 'low', 'auto'\] \(or null\)",
        ),
        ("low", r"fidelity_start='low': the space has no Fidelity"),  # Study's own check
    ],
)
def test_a_bad_or_useless_fidelity_start_is_one_line(
    proj: Path, capsys: pytest.CaptureFixture, value: str, match: str
) -> None:
    assert _run(proj, RUN + f"fidelity_start: {value}\n") == 2  # RUN's space has no Fidelity
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and re.search(match, err), err
    assert not Path("t.db").exists()
