"""`ador evaluate`: the JSON contract, the tables, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import TEMPLATES

HETERO = str(TEMPLATES / "ador-hetero.yaml")
CONTRACT = {"ttft_s", "tpot_s", "e2e_s", "throughput_tok_s", "throughput_per_chip_tok_s",
            "memory_bytes", "fits_memory", "breakdown"}


def assert_one_line_error(result, *fragments: str) -> str:
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error:")
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def test_json_contract_through_the_console_script(ador_exe):
    proc = subprocess.run([ador_exe, "evaluate", HETERO, "--model", "llama3-8b", "--batch", "16",
                           "--input-len", "1024", "--output-len", "256", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)  # exactly one JSON object, nothing else on stdout
    assert isinstance(obj, dict)
    assert CONTRACT <= set(obj)
    assert obj["fits_memory"] is True
    assert obj["e2e_s"] == pytest.approx(obj["ttft_s"] + 255 * obj["tpot_s"], rel=1e-12)
    assert obj["throughput_tok_s"] == pytest.approx(16 * 256 / obj["e2e_s"], rel=1e-12)
    assert obj["hardware"] == "ador-hetero" and obj["model"] == "llama3-8b"
    assert obj["scenario"] == {"batch": 16, "input_len": 1024, "output_len": 256, "tp": 1,
                               "pp": 1, "weight_precision": "fp16",
                               "activation_precision": "fp16", "kv_precision": "fp16"}
    assert obj["breakdown"]["memory"]["kv_cache_bytes"] == 16 * 1280 * 131072


def test_errors_through_the_console_script(ador_exe):
    proc = subprocess.run([ador_exe, "evaluate", HETERO, "--model", "llama3-70b"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "llama3-70b" in proc.stderr and proc.stdout == ""


def test_tables_by_default(cli):
    r = cli("evaluate", "ador-hetero", "--batch", "4", "--input-len", "256", "--output-len",
            "32")
    assert r.code == 0, r.stderr
    for text in ("time to first token", "tpot", "memory per chip", "utilisation", "operators",
                 "gate_up_proj", "┃"):
        assert text in r.stdout, text
    assert not r.stdout.lstrip().startswith("{")


def test_json_flag_in_process_matches_library(cli, llama3_8b, hetero):
    from ador.evaluate import evaluate, to_json
    from ador.spec.scenario import Scenario

    r = cli("evaluate", "ador-hetero", "-b", "2", "-i", "64", "-o", "8", "--tp", "2", "--json")
    assert r.code == 0
    obj = json.loads(r.stdout)
    ref = to_json(evaluate(hardware=hetero, model=llama3_8b,
                           scenario=Scenario(batch=2, input_len=64, output_len=8, tp=2)))
    assert obj["tpot_s"] == ref["tpot_s"] and obj["chips"] == 2


def test_model_that_does_not_fit(cli):
    line = assert_one_line_error(cli("evaluate", "ador-hetero", "--model", "llama3-70b"),
                                 "llama3-70b", "ador-hetero", "memory", "HBM")
    assert "--tp" in line  # says how to fix it


def test_overflow_can_be_reported_on_request(cli):
    r = cli("evaluate", "ador-hetero", "--model", "llama3-70b", "--allow-overflow", "--json")
    assert r.code == 0
    assert json.loads(r.stdout)["fits_memory"] is False


def test_unsupported_precision(cli):
    assert_one_line_error(cli("evaluate", "a100", "--precision", "fp8"),
                          "a100-sxm-80gb", "precision", "fp8")


def test_unknown_precision(cli):
    assert_one_line_error(cli("evaluate", "a100", "--precision", "fp9"), "fp9")


def test_tp_not_a_power_of_two(cli):
    assert_one_line_error(cli("evaluate", "ador-hetero", "--tp", "3"),
                          "command line", "tp", "power of two", "3")


def test_tp_not_dividing_heads(cli, tmp_path, llama3_8b):
    model = tmp_path / "odd-heads.yaml"
    model.write_text("name: odd-heads\nlayers: 4\nhidden: 1536\nheads: 12\nkv_heads: 4\n"
                     "head_dim: 128\nffn_hidden: 4096\nvocab: 32000\n")
    assert_one_line_error(cli("evaluate", "ador-hetero", "--model", str(model), "--tp", "8"),
                          "tp", "divide", "12", "8")


def test_more_chips_than_the_system_has(cli):
    assert_one_line_error(cli("evaluate", "ador-hetero", "--tp", "16"), "chips", "16")


@pytest.mark.parametrize("option", ["--batch", "--input-len", "--output-len"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_non_positive_sizes(cli, option, value):
    field = option.removeprefix("--").replace("-", "_")
    assert_one_line_error(cli("evaluate", "ador-hetero", option, value),
                          "command line", field, value)


def test_unknown_template_and_model_names(cli):
    assert_one_line_error(cli("evaluate", "tpu-v9"), "unknown hardware template", "tpu-v9",
                          "ador-hetero")
    assert_one_line_error(cli("evaluate", "ador-hetero", "--model", "llama9"),
                          "unknown model", "llama9", "llama3-8b")


def test_missing_hardware_file(cli, tmp_path):
    missing = tmp_path / "nope.yaml"
    assert_one_line_error(cli("evaluate", str(missing)), str(missing), "file not found")


def test_bad_hardware_file(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((TEMPLATES / "ador-hetero.yaml").read_text().replace(
        "clock_hz: 1.0 GHz", "clock_hz: 1.0 GB"))
    assert_one_line_error(cli("evaluate", str(bad)), str(bad), "chip.clock_hz", "hertz",
                          "1.0 GB")


def test_usage_errors_exit_2_without_traceback(cli):
    r = cli("evaluate", "ador-hetero", "--no-such-option")
    assert r.code == 2 and "Traceback" not in r.stderr and "no-such-option" in r.stderr
    r = cli("evaluate")
    assert r.code == 2 and "Traceback" not in r.stderr
    r = cli()
    assert r.code in (0, 2) and "Traceback" not in r.stderr and "evaluate" in (r.stdout
                                                                              + r.stderr)
