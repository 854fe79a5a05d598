"""Every process that serves a study judges staleness with the study's stored heartbeat
settings (``metarl:settings``), whatever it was given: a resume with other values would
otherwise re-queue the healthy trials of a process that beats more slowly."""

from __future__ import annotations

import warnings

import optuna
import pytest

from metarl.study._storage import _heartbeat
from tests.study._small import small_study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(url, **kw):
    return small_study(url, **kw)


def test_a_resumed_study_keeps_its_stored_heartbeat_settings(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = _study(url, heartbeat_interval=4, grace_period=9).optimize(2)
    assert _heartbeat(first.storage) == (4, 9.0)
    with pytest.warns(UserWarning, match="keeps its stored heartbeat settings"):
        other = _study(url, heartbeat_interval=1, grace_period=2)
    assert _heartbeat(other.storage) == (4, 9.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none given: nothing to warn about
        plain = _study(url)
    assert _heartbeat(plain.storage) == (4, 9.0)
    assert plain.optuna_study.user_attrs["metarl:settings"]["heartbeat_interval"] == 4


def test_worker_and_study_share_the_rule(tmp_path) -> None:
    from metarl.study._settings import serving_heartbeat

    url = f"sqlite:///{tmp_path / 's.db'}"
    assert serving_heartbeat(url, "s", None, None) == {
        "heartbeat_interval": 5,
        "grace_period": None,
    }  # no study yet: the default
    _study(url, heartbeat_interval=3)
    with pytest.warns(UserWarning, match="ignored"):
        got = serving_heartbeat(url, "s", 1)
    assert got == {"heartbeat_interval": 3, "grace_period": None}


def test_a_new_study_stores_the_given_settings(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    s = _study(url, heartbeat_interval=2, grace_period=7)
    assert _heartbeat(s.storage) == (2, 7.0)
    assert s.optuna_study.user_attrs["metarl:settings"]["grace_period"] == 7


def test_a_grace_period_is_checked_against_the_interval_served(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(ValueError, match=r"grace_period=4: .* above heartbeat_interval \(5\)"):
        _study(url, grace_period=4)  # a new study: the default interval, 5 s
    _study(url, heartbeat_interval=2, grace_period=5).optimize(2)
    with pytest.warns(UserWarning, match="stored heartbeat settings"):
        s = _study(url, grace_period=4)  # checked against the stored 2 s, not the default 5
    assert s.optuna_study.user_attrs["metarl:settings"]["heartbeat_interval"] == 2
