"""YAML io: loading by name or path, errors with file/field/rule/value, dump round trip,
atomic writes and the JSON Schema."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ador.errors import AdorError, SpecError
from ador.evaluate import evaluate, evaluate_population
from ador.model.design import DesignArrays
from ador.spec.hardware import HardwareSpec
from ador.spec.io import (ALIASES, dump_yaml, load_hardware, load_model,
                          load_scenario_file, load_spec, read_yaml, validate_file,
                          write_spec, write_text_atomic)
from ador.spec.model import ModelSpec
from ador.spec.scenario import ScenarioFile
from tests.conftest import ADOR_TEMPLATES, GPU_TEMPLATES, TEMPLATES, WORKLOADS, hardware


def test_load_by_name_alias_and_path():
    by_path = load_hardware(TEMPLATES / "a100-sxm-80gb.yaml")
    assert load_hardware("a100-sxm-80gb") == by_path
    assert load_hardware("a100") == by_path
    assert set(ALIASES.values()) <= set(GPU_TEMPLATES)
    assert load_model("llama3-8b") == load_model(WORKLOADS / "models" / "llama3-8b.yaml")


def test_scenario_file_loads_and_names_an_existing_model():
    sf = load_scenario_file("chat-b16")
    assert sf.scenario.batch == 16 and sf.scenario.input_len == 1024
    assert load_model(sf.model).name == sf.model


def test_unknown_names_list_the_known_ones():
    with pytest.raises(SpecError) as info:
        load_hardware("no-such-chip")
    assert "no-such-chip" in info.value.message()
    assert "ador-hetero" in info.value.rule and "a100" in info.value.rule
    with pytest.raises(SpecError, match="llama3-8b"):
        load_model("gpt-5")


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="file not found") as info:
        load_hardware(tmp_path / "nope.yaml")
    assert info.value.file.endswith("nope.yaml")


def test_malformed_yaml_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nchip:\n  clock_hz: [1, 2\n")
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    msg = info.value.message()
    assert str(path) in msg
    assert "malformed YAML" in msg and "line" in msg and "column" in msg


def test_validate_file_detects_the_kind():
    assert isinstance(validate_file(TEMPLATES / "ador-hetero.yaml"), HardwareSpec)
    assert isinstance(validate_file(WORKLOADS / "models" / "llama2-7b.yaml"), ModelSpec)
    assert isinstance(validate_file(WORKLOADS / "scenarios" / "chat-b16.yaml"), ScenarioFile)


def test_validate_file_rejects_an_unknown_kind(tmp_path):
    path = tmp_path / "what.yaml"
    path.write_text("foo: 1\n")
    with pytest.raises(SpecError, match="spec kind"):
        validate_file(path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError):
        validate_file(path)


def test_errors_carry_file_field_rule_and_value(tmp_path):
    text = (TEMPLATES / "ador-hetero.yaml").read_text().replace(
        "bandwidth_per_stack_bytes_per_s: 819.2 GB/s", "bandwidth_per_stack_bytes_per_s: 819.2 GB")
    path = tmp_path / "hw.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(HardwareSpec, path)
    err = info.value
    assert err.file == str(path)
    assert err.field == "chip.hbm.bandwidth_per_stack_bytes_per_s"
    assert "bytes per second" in err.rule
    assert err.value == "819.2 GB"
    msg = err.message()
    assert "\n" not in msg
    for part in (str(path), err.field, "819.2 GB"):
        assert part in msg


@pytest.mark.parametrize("name", GPU_TEMPLATES + ADOR_TEMPLATES)
def test_dump_then_load_gives_an_equal_spec(tmp_path, name):
    spec = hardware(name)
    path = tmp_path / f"{name}.yaml"
    write_spec(path, spec, header="round trip\nsecond line")
    assert path.read_text().startswith("# round trip\n# second line\n")
    again = load_spec(HardwareSpec, path)
    assert again == spec
    assert dump_yaml(again) == dump_yaml(spec)


def test_round_trip_keeps_evaluation_numbers_identical(tmp_path, llama3_8b, chat):
    specs = [hardware(n) for n in GPU_TEMPLATES + ADOR_TEMPLATES]
    reloaded = []
    for spec in specs:
        path = tmp_path / f"{spec.name}.yaml"
        path.write_text(dump_yaml(spec))
        reloaded.append(load_hardware(path))
    a = evaluate_population(designs=DesignArrays.from_specs(specs), model=llama3_8b,
                            scenario=chat)
    b = evaluate_population(designs=DesignArrays.from_specs(reloaded), model=llama3_8b,
                            scenario=chat)
    for field in ("ttft", "tpot", "e2e", "throughput", "memory_capacity"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    one = evaluate(hardware=specs[3], model=llama3_8b, scenario=chat)
    two = evaluate(hardware=reloaded[3], model=llama3_8b, scenario=chat)
    assert one == two


def test_model_round_trip(llama3_70b):
    text = dump_yaml(llama3_70b)
    import yaml

    assert ModelSpec.model_validate(yaml.safe_load(text)) == llama3_70b


def test_write_text_atomic_writes_and_replaces(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    write_text_atomic(path, "one")
    write_text_atomic(path, "two")
    assert path.read_text() == "two"
    assert sorted(os.listdir(path.parent)) == ["out.txt"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("precious")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ador.spec.io.os.replace", boom)
    with pytest.raises(AdorError, match="No space left"):
        write_text_atomic(path, "new")
    assert path.read_text() == "precious"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_while_writing_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("precious")
    with pytest.raises(TypeError):
        write_text_atomic(path, 12345)  # type: ignore[arg-type]
    assert path.read_text() == "precious"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_writing_onto_a_directory_is_a_clear_error(tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    with pytest.raises(AdorError) as info:
        write_text_atomic(target, "x")
    assert info.value.file == str(target)
    assert os.listdir(target) == [] and os.listdir(tmp_path) == ["dir"]


def test_json_schema_describes_the_hardware_spec():
    from ador.spec.schema import json_schema_text

    schema = json.loads(json_schema_text("hardware"))
    assert schema["title"] == "ador hardware spec"
    assert {"name", "chip"} <= set(schema["properties"])
    assert "chip" in schema["required"]
    assert "Chip" in schema.get("$defs", {})
