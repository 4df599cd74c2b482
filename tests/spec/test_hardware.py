"""Hardware, model and scenario specs: SI storage, derived values and validation rules."""

from __future__ import annotations

import copy

import pytest

from ador.errors import SpecError
from ador.spec.hardware import Dataflow, HardwareSpec
from ador.spec.io import read_yaml, validate_data
from ador.spec.model import ModelSpec
from ador.spec.precision import Precision
from ador.spec.scenario import Scenario
from tests.conftest import TEMPLATES, hardware

HETERO_DATA = read_yaml(TEMPLATES / "ador-hetero.yaml")


def hetero_data() -> dict:
    return copy.deepcopy(HETERO_DATA)


def build(data: dict) -> HardwareSpec:
    return validate_data(HardwareSpec, data, file="test.yaml")


def units_by_kind(data: dict) -> dict:
    return {u["kind"]: u for u in data["chip"]["units"]}


def test_template_quantities_are_stored_in_si(hetero):
    chip = hetero.chip
    assert chip.clock_hz == 1e9
    assert chip.sram.capacity_bytes == 64 * 2**20
    assert chip.sram.bandwidth_bytes_per_s == 16e12
    assert chip.hbm.bandwidth_per_stack_bytes_per_s == 819.2e9
    assert chip.hbm.capacity_per_stack_bytes == 16e9
    assert chip.p2p.latency_s == 1e-6
    assert chip.unit("systolic_array").local_buffer_bytes == 2 * 2**20


def test_hbm_totals_are_per_stack_times_stacks(hetero):
    hbm = hetero.chip.hbm
    assert hbm.bandwidth_bytes_per_s == pytest.approx(5 * 819.2e9)
    assert hbm.capacity_bytes == pytest.approx(80e9)


def test_gpu_templates_match_datasheet_peaks():
    """Tensor peak = SMs x PEs x 2 x clock; HBM from the datasheets."""
    a100, h100 = hardware("a100-sxm-80gb"), hardware("h100-sxm-80gb")
    for spec, tflops, hbm_tbs in ((a100, 312e12, 2.039e12), (h100, 989.4e12, 3.35e12)):
        sa = spec.chip.unit("systolic_array")
        peak = 2 * sa.count * sa.rows * sa.cols * spec.chip.clock_hz
        assert peak == pytest.approx(tflops, rel=2e-3)
        assert spec.chip.hbm.bandwidth_bytes_per_s == pytest.approx(hbm_tbs, rel=1e-3)
        assert sa.dataflow is Dataflow.OUTPUT_STATIONARY
    assert Precision.FP8 not in a100.chip.precisions
    assert Precision.FP8 in h100.chip.precisions


def test_unit_lookup(hetero):
    assert hetero.chip.unit("mac_tree").kind == "mac_tree"
    assert hardware("ador-systolic").chip.unit("mac_tree") is None


def test_specs_are_frozen(hetero):
    with pytest.raises(Exception):
        hetero.chip.clock_hz = 2e9  # type: ignore[misc]


def expect_error(data: dict, field: str, rule_fragment: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        build(data)
    err = info.value
    assert err.file == "test.yaml"
    assert err.field == field
    assert rule_fragment.lower() in err.rule.lower()
    return err


def test_unknown_key_is_rejected():
    data = hetero_data()
    data["chip"]["sram"]["capacity"] = "64 MiB"
    expect_error(data, "chip.sram.capacity", "unknown key")


def test_unknown_top_level_key_is_rejected():
    data = hetero_data()
    data["chips"] = 8
    expect_error(data, "chips", "unknown key")


def test_missing_key_is_rejected():
    data = hetero_data()
    del data["chip"]["hbm"]["stacks"]
    expect_error(data, "chip.hbm.stacks", "missing")


def test_missing_key_inside_a_unit_names_the_unit_index():
    data = hetero_data()
    del data["chip"]["units"][1]["lanes"]
    expect_error(data, "chip.units[1].lanes", "missing")


def test_wrong_unit_is_rejected_with_the_value():
    data = hetero_data()
    data["chip"]["sram"]["capacity_bytes"] = "3 GHz"
    err = expect_error(data, "chip.sram.capacity_bytes", "unit")
    assert err.value == "3 GHz"
    assert "3 GHz" in err.message()


@pytest.mark.parametrize("value", ["-64 MiB", "0 MiB", 0, "-1 B", "0.0 B"])
def test_non_positive_sizes_are_rejected(value):
    data = hetero_data()
    data["chip"]["sram"]["capacity_bytes"] = value
    expect_error(data, "chip.sram.capacity_bytes", "greater than 0")


@pytest.mark.parametrize("field, value", [("count", 0), ("count", -2), ("rows", 0),
                                          ("count", "8"), ("count", 8.5)])
def test_unit_counts_are_positive_integers(field, value):
    data = hetero_data()
    units_by_kind(data)["systolic_array"][field] = value
    with pytest.raises(SpecError) as info:
        build(data)
    assert info.value.field == f"chip.units[0].{field}"


def test_negative_latency_is_rejected():
    data = hetero_data()
    data["chip"]["p2p"]["latency_s"] = "-1 us"
    expect_error(data, "chip.p2p.latency_s", "greater than or equal to 0")


def test_efficiency_above_one_is_rejected():
    data = hetero_data()
    data["chip"]["calibration"] = {"matrix_efficiency": 1.2}
    expect_error(data, "chip.calibration.matrix_efficiency", "less than or equal to 1")


def test_unknown_precision_is_rejected():
    data = hetero_data()
    data["chip"]["precisions"] = ["fp16", "fp12"]
    expect_error(data, "chip.precisions[1]", "")


def test_unknown_unit_kind_is_rejected():
    data = hetero_data()
    data["chip"]["units"][0]["kind"] = "tensor_core"
    with pytest.raises(SpecError) as info:
        build(data)
    assert info.value.field.startswith("chip.units[0]")


def test_two_groups_of_one_kind_are_rejected():
    data = hetero_data()
    data["chip"]["units"].append(copy.deepcopy(data["chip"]["units"][0]))
    expect_error(data, "chip", "at most one unit group")


def test_a_chip_needs_a_matrix_unit():
    data = hetero_data()
    data["chip"]["units"] = [units_by_kind(data)["vector_unit"]]
    expect_error(data, "chip", "matrix unit")


def test_a_chip_needs_a_vector_unit():
    data = hetero_data()
    data["chip"]["units"] = [units_by_kind(data)["systolic_array"]]
    expect_error(data, "chip", "vector_unit")


def test_several_chips_need_links():
    data = hetero_data()
    del data["chip"]["p2p"]
    with pytest.raises(SpecError, match="p2p"):
        build(data)
    data["system"]["chips"] = 1
    assert build(data).chip.p2p is None


def test_output_tiles_only_for_output_stationary():
    data = hetero_data()
    units_by_kind(data)["systolic_array"]["output_tiles"] = [[128, 128]]
    with pytest.raises(SpecError, match="output_stationary"):
        build(data)
    units_by_kind(data)["systolic_array"]["dataflow"] = "output_stationary"
    assert build(data).chip.unit("systolic_array").output_tiles == [(128, 128)]


def test_not_a_mapping_is_rejected():
    with pytest.raises(SpecError, match="mapping"):
        validate_data(HardwareSpec, ["chip"], file="test.yaml")


# --- model and scenario specs -------------------------------------------------------------

def test_model_rejects_heads_not_multiple_of_kv_heads(llama3_8b):
    data = llama3_8b.model_dump()
    data["kv_heads"] = 5
    with pytest.raises(SpecError, match="multiple of kv_heads"):
        validate_data(ModelSpec, data, file="m.yaml")


def test_scenario_tp_must_be_a_power_of_two():
    with pytest.raises(SpecError, match="power of two") as info:
        validate_data(Scenario, {"batch": 1, "input_len": 1, "output_len": 1, "tp": 3},
                      file="command line")
    assert info.value.value == 3 or "3" in info.value.message()


@pytest.mark.parametrize("field", ["batch", "input_len", "output_len", "tp", "pp"])
def test_scenario_sizes_are_positive(field):
    data = {"batch": 1, "input_len": 1, "output_len": 1, field: 0}
    with pytest.raises(SpecError) as info:
        validate_data(Scenario, data, file="command line")
    assert info.value.field == field


def test_scenario_compute_precision_is_the_wider_one():
    sc = Scenario(batch=1, input_len=1, output_len=1, weight_precision="int4",
                  activation_precision="fp16", kv_precision="fp8")
    assert sc.compute_precision is Precision.FP16
    assert Scenario.uniform(precision="fp8", batch=1, input_len=1, output_len=1
                            ).compute_precision is Precision.FP8
    assert Scenario(batch=1, input_len=1, output_len=1, tp=4, pp=2).chips == 8


def test_precision_bytes():
    assert [p.bytes for p in (Precision.FP32, Precision.FP16, Precision.BF16, Precision.FP8,
                              Precision.INT8, Precision.INT4)] == [4, 2, 2, 1, 1, 0.5]
