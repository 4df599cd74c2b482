"""`ador spec validate` and `ador spec schema`."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import TEMPLATES, hardware_yaml_files, workload_yaml_files


def one_error_line(result) -> str:
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_every_repository_spec_validates(cli):
    files = hardware_yaml_files() + workload_yaml_files()
    assert len(files) >= 12
    r = cli("spec", "validate", *files)
    assert r.code == 0, r.stderr
    assert r.stdout.count("ok ") == len(files)
    assert "HardwareSpec" in r.stdout and "ModelSpec" in r.stdout and "ScenarioFile" in r.stdout


def write_variant(tmp_path, name: str, old: str, new: str):
    text = (TEMPLATES / "ador-hetero.yaml").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("name, old, new, fragments", [
    ("unknown-key.yaml", "  clock_hz: 1.0 GHz", "  clock_hz: 1.0 GHz\n  turbo: true",
     ["chip.turbo", "unknown key", "True"]),
    ("missing-key.yaml", "      rows: 128\n", "",
     ["chip.units[0].rows", "required field is missing"]),
    ("wrong-unit.yaml", "capacity_bytes: 64 MiB", "capacity_bytes: 3 GHz",
     ["chip.sram.capacity_bytes", "unit", "3 GHz"]),
    ("bits.yaml", "capacity_bytes: 64 MiB", "capacity_bytes: 512 Mbit",
     ["chip.sram.capacity_bytes", "bits", "512 Mbit"]),
    ("negative.yaml", "capacity_per_stack_bytes: 16 GB", "capacity_per_stack_bytes: -16 GB",
     ["chip.hbm.capacity_per_stack_bytes", "greater than 0", "-16 GB"]),
    ("zero.yaml", "stacks: 5", "stacks: 0", ["chip.hbm.stacks", "greater than 0", "0"]),
    ("string-count.yaml", "count: 8", "count: eight", ["chip.units[0].count", "eight"]),
    ("bad-dataflow.yaml", "dataflow: weight_stationary", "dataflow: row_stationary",
     ["chip.units[0].dataflow", "row_stationary"]),
])
def test_bad_hardware_files(cli, tmp_path, name, old, new, fragments):
    path = write_variant(tmp_path, name, old, new)
    line = one_error_line(cli("spec", "validate", path))
    assert line.startswith("error:")
    for fragment in [str(path), *fragments]:
        assert fragment in line, (fragment, line)


def test_malformed_yaml(cli, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nchip: {clock_hz: 1 GHz\n")
    line = one_error_line(cli("spec", "validate", path))
    assert str(path) in line and "malformed YAML" in line and "line" in line


def test_unknown_kind_and_missing_file(cli, tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text("hello: world\n")
    assert "spec kind" in one_error_line(cli("spec", "validate", path))
    missing = tmp_path / "missing.yaml"
    assert "file not found" in one_error_line(cli("spec", "validate", missing))


def test_bad_model_file(cli, tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("name: m\nlayers: 2\nhidden: 64\nheads: 6\nkv_heads: 4\nhead_dim: 16\n"
                    "ffn_hidden: 128\nvocab: 100\n")
    line = one_error_line(cli("spec", "validate", path))
    assert str(path) in line and "kv_heads" in line


def test_bad_scenario_file(cli, tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("name: s\nmodel: llama3-8b\nscenario: {batch: 4, input_len: 8, "
                    "output_len: 8, tp: 6}\n")
    line = one_error_line(cli("spec", "validate", path))
    assert str(path) in line and "power of two" in line


def test_validate_reports_good_files_and_fails_on_a_bad_one(cli, tmp_path):
    bad = write_variant(tmp_path, "bad.yaml", "stacks: 5", "stacks: -1")
    good = TEMPLATES / "ador-hetero.yaml"
    r = cli("spec", "validate", good, bad)
    assert r.code == 2
    assert f"ok {good}" in r.stdout
    assert str(bad) in r.stderr


def test_schema_is_valid_json_schema(cli):
    r = cli("spec", "schema")
    assert r.code == 0
    schema = json.loads(r.stdout)
    assert "chip" in schema["properties"]
    assert schema["type"] == "object"
    assert schema["$schema"].startswith("https://json-schema.org/")


def test_schema_out_writes_the_file(cli, tmp_path):
    out = tmp_path / "schema" / "hardware.json"
    r = cli("spec", "schema", "--out", out)
    assert r.code == 0
    assert "chip" in json.loads(out.read_text())["properties"]


def test_failing_schema_write_keeps_the_existing_file(cli, tmp_path, monkeypatch):
    out = tmp_path / "hardware.json"
    out.write_text("old contents")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ador.spec.io.os.replace", fail)
    line = one_error_line(cli("spec", "schema", "--out", out))
    assert str(out) in line and "No space left" in line
    assert out.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["hardware.json"]  # no temporary file left behind


def test_schema_onto_a_directory_is_a_one_line_error(cli, tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    line = one_error_line(cli("spec", "schema", "--out", target))
    assert str(target) in line
    assert os.listdir(target) == ["keep.txt"]
