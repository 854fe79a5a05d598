"""The trainer contract: TrainerSpec round trips and rebuilds, call_trainer normalises."""

from __future__ import annotations

import subprocess
import sys

import pytest

from metarl.trainers import Trainer, TrainerSpec, call_trainer
from tests.study._trainers import quadratic

CFG = {"x": 0.5, "n": 3, "opt": "adam"}


def test_spec_of_an_importable_function_round_trips_and_rebuilds_it() -> None:
    spec = TrainerSpec.of(quadratic)
    assert spec == TrainerSpec("import", "tests.study._trainers:quadratic")
    assert TrainerSpec.from_dict(spec.to_dict()) == spec
    assert spec.build() is quadratic
    assert call_trainer(spec, CFG) == quadratic(CFG)


def test_spec_of_a_lambda_is_none_and_bad_specs_are_named() -> None:
    assert TrainerSpec.of(lambda c: 0.0) is None
    with pytest.raises(ValueError, match="kind 'nope'"):
        TrainerSpec("nope", "x")
    with pytest.raises(ValueError, match="no_such_module"):
        TrainerSpec("import", "no_such_module:f").build()


def test_call_trainer_reads_a_number_as_value_and_copies_the_config() -> None:
    def mutating(config: dict) -> float:
        config["x"] = 99.0
        return 1.5

    cfg = dict(CFG)
    assert isinstance(mutating, Trainer)
    assert call_trainer(mutating, cfg) == {"value": 1.5}
    assert cfg == CFG


def test_importing_the_study_does_not_load_the_benchmark_suite() -> None:
    code = "import sys, metarl.study; print('metarl.benchmarks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
