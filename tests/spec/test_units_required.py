"""Quantities people write must carry units; quantities ador writes carry them too."""

from __future__ import annotations

import random

import pytest
import yaml

from ador.errors import SpecError
from ador.spec.hardware import HardwareSpec
from ador.spec.io import (dump_yaml, load_hardware, load_problem, load_space, to_data,
                          validate_data)
from ador.spec.problem import ProblemSpec
from ador.units import format_exact, parse_quantity
from tests.conftest import ROOT, TEMPLATES, hardware_yaml_files

HETERO = (TEMPLATES / "ador-hetero.yaml").read_text()


@pytest.mark.parametrize("old, new, field, dimension", [
    ("clock_hz: 1.0 GHz", "clock_hz: 1.2", "chip.clock_hz", "hertz"),
    ("capacity_per_stack_bytes: 16 GB", "capacity_per_stack_bytes: 16",
     "chip.hbm.capacity_per_stack_bytes", "bytes"),
    ("capacity_bytes: 64 MiB", "capacity_bytes: '67108864'", "chip.sram.capacity_bytes",
     "bytes"),
    ("latency_s: 1 us", "latency_s: 1e-6", "chip.p2p.latency_s", "seconds"),
    ("local_buffer_bytes: 256 KiB", "local_buffer_bytes: 262144",
     "chip.units[1].local_buffer_bytes", "bytes"),
])
def test_plain_number_in_a_hardware_file_is_refused(tmp_path, old, new, field, dimension):
    path = tmp_path / "hw.yaml"
    path.write_text(HETERO.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_hardware(path)
    message = info.value.message()
    assert info.value.field == field
    assert "without a unit" in message and dimension in message and str(path) in message


def test_zero_needs_no_unit(tmp_path):
    path = tmp_path / "hw.yaml"
    path.write_text(HETERO.replace("latency_s: 1 us", "latency_s: 0"))
    assert load_hardware(path).chip.p2p.latency_s == 0


def test_plain_number_in_a_problem_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("slo:\n  tpot_s: 50\n")
    with pytest.raises(SpecError, match="slo.tpot_s.*without a unit"):
        load_problem(path)


def test_cli_tpot_slo_without_unit(cli, tmp_path):
    r = cli("explore", "--tpot-slo", "50", "--out-dir", tmp_path, "--no-progress")
    assert r.code == 2
    assert r.stderr.count("\n") == 1
    assert "--tpot-slo (slo.tpot_s)" in r.stderr and "without a unit" in r.stderr
    assert "'50'" in r.stderr
    assert not any(tmp_path.iterdir())
    r = cli("explore", "--area-budget", "800", "--out-dir", tmp_path, "--no-progress")
    assert r.code == 2 and "--area-budget" in r.stderr and "mm2" in r.stderr


def test_python_code_may_still_give_si_floats():
    spec = load_hardware("ador-hetero")
    data = spec.model_dump()
    data["chip"]["clock_hz"] = 1.2e9
    assert HardwareSpec.model_validate(data).chip.clock_hz == 1.2e9


@pytest.mark.parametrize("knob, fragment", [
    ("{name: clk, path: chip.clock_hz, type: choice, values: [1.0, 1.2]}", "unit: hz"),
    ("{name: clk, path: chip.clock_hz, type: choice, unit: hz, values: [1.0, 1.2]}",
     "without a unit"),
    ("{name: clk, path: chip.clock_hz, type: real, unit: hz, low: 1, high: 2 GHz}",
     "without a unit"),
    ("{name: g, path: chip.hbm, type: choice, values: [{capacity_per_stack_bytes: 16}]}",
     "without a unit"),
    ("{name: s, path: chip.sram.capacity_bytes, type: choice, unit: hz, values: [1 GHz]}",
     "unit: bytes"),
])
def test_space_knobs_on_quantities_need_units(tmp_path, knob, fragment):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nbase: ador-hetero\nknobs:\n  - {knob}\n")
    with pytest.raises(SpecError) as info:
        load_space(path)
    assert fragment in info.value.message() and "knobs[0]" in info.value.message()


def test_shipped_files_carry_units():
    for path in hardware_yaml_files():
        load_hardware(path)
    for path in sorted((ROOT / "problems").glob("*.yaml")):
        load_problem(path)
    for path in sorted((TEMPLATES / "spaces").glob("*.yaml")):
        load_space(path)


def test_written_specs_carry_units_and_read_back_exactly(tmp_path):
    for path in hardware_yaml_files():
        spec = load_hardware(path)
        text = dump_yaml(spec)
        data = yaml.safe_load(text)
        assert isinstance(data["chip"]["clock_hz"], str)
        assert isinstance(data["chip"]["hbm"]["capacity_per_stack_bytes"], str)
        out = tmp_path / path.name
        out.write_text(text)
        assert load_hardware(out) == spec
    problem = ProblemSpec()
    data = to_data(problem)
    assert data["slo"]["tpot_s"] == "50 ms" and data["budgets"]["area_mm2"] == "814 mm2"
    assert validate_data(ProblemSpec, data, file="x") == problem


def test_format_exact_round_trips():
    rng = random.Random(7)
    for _ in range(5000):
        dim = rng.choice(["s", "hz", "bytes", "bytes_per_s", "w", "mm2", "usd"])
        value = 10 ** rng.uniform(-12, 15)
        if rng.random() < 0.5:
            value = float(f"{value:.3g}")
        text = format_exact(value, dim)
        assert parse_quantity(text, dim) == value, text
    assert format_exact(1.41e9, "hz") == "1.41 GHz"
    assert format_exact(2.0**26, "bytes") == "64 MiB"
    assert format_exact(0.05, "s") == "50 ms"


def test_run_folders_carry_units_and_older_ones_still_resume(cli, tmp_path):
    opts = ["--space", "ador-small", "--baselines", "none", "--backend", "optuna",
            "--trials", "8", "--pop-size", "4", "--out-dir", tmp_path, "--no-progress",
            "--power-budget", "none"]
    assert cli("explore", *opts).code == 0
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["slo"]["tpot_s"] == "50 ms"
    pareto = sorted((folder / "pareto").glob("*.yaml"))
    assert pareto and isinstance(yaml.safe_load(pareto[0].read_text())["chip"]["clock_hz"], str)
    # a run folder written before quantities carried units: bare SI numbers
    config["slo"] = {"ttft_s": 0.5, "tpot_s": 0.05}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    r = cli("explore", "--resume", folder, "--trials", "12", "--no-progress")
    assert r.code == 0, r.stderr


def test_calibration_block_is_written_with_units(tmp_path):
    from ador.spec.io import replace_calibration_block

    path = tmp_path / "a100.yaml"
    path.write_text((TEMPLATES / "a100-sxm-80gb.yaml").read_text())
    spec = load_hardware(path)
    calibration = spec.chip.calibration.model_copy(update={"kernel_overhead_s": 4.5e-6,
                                                           "allreduce_latency_s": 2e-5})
    replace_calibration_block(path, calibration)
    text = path.read_text()
    assert "kernel_overhead_s: 4.5 us" in text and "allreduce_latency_s: 20 us" in text
    assert load_hardware(path).chip.calibration == calibration


def test_scenario_file_beyond_the_context_length(tmp_path):
    from ador.spec.io import validate_file

    path = tmp_path / "sc.yaml"
    path.write_text("name: long\nmodel: llama2-7b\nscenario: {batch: 1, input_len: 4000, "
                    "output_len: 200}\n")
    with pytest.raises(SpecError, match="context length") as info:
        validate_file(path)
    assert info.value.field == "scenario.output_len"
