"""Data steps of the report's figures, on small synthetic frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError
from ador.evaluate import evaluate, to_json
from ador.report import figdata
from ador.spec.scenario import Scenario
from tests.conftest import hardware, model

DESIGNS = pd.DataFrame({
    "id": ["d0", "d1", "d2", "d3"],
    "feasible": [1, 1, 0, 1],
    "sram": [16 * 2**20, 64 * 2**20, 64 * 2**20, 16 * 2**20],
    "hbm": ["hbm3", "hbm3e", "hbm3", "hbm3"],
    "sa_count": [4, 8, 8, 8],
    "throughput_per_chip_tok_s": [1000.0, 2000.0, 3000.0, np.nan],
    "tpot_s": [0.02, 0.01, 0.005, 0.03],
})
PARETO = DESIGNS[DESIGNS["id"].isin(["d1"])]
BASELINES = pd.DataFrame({
    "baseline": ["h100", "h100", "a100"],
    "scenario": ["a", "b", "a"],
    "throughput_per_chip_tok_s": [100.0, 400.0, 50.0],
    "tpot_s": [0.02, 0.04, 0.05],
})


# ------------------------------------------------------------------------- metrics ----
@pytest.mark.parametrize("name", ["tpot", "tpot_s", "obj_tpot"])
def test_resolve_metric_by_objective_column_or_obj_name(name):
    m = figdata.resolve_metric(name, DESIGNS.columns)
    assert (m.column, m.scale, m.higher_is_better) == ("tpot_s", 1e3, False)


def test_resolve_metric_accepts_any_numeric_column():
    assert figdata.resolve_metric("sa_count", DESIGNS.columns).column == "sa_count"


def test_unknown_objective_names_field_value_and_choices():
    with pytest.raises(AdorError) as exc:
        figdata.resolve_metric("speed", DESIGNS.columns, field="--x")
    msg = exc.value.message()
    assert "field '--x'" in msg and "'speed'" in msg and "unknown objective" in msg
    assert "throughput_per_chip" in msg and "tpot" in msg


def test_objective_missing_from_run_is_an_error():
    with pytest.raises(AdorError, match="no column 'area_mm2'"):
        figdata.resolve_metric("area", DESIGNS.columns, field="--y")


# ------------------------------------------------------------------ Pareto scatter ----
def test_scatter_groups_scaling_and_dropped_rows():
    axes = [figdata.METRICS["throughput_per_chip"], figdata.METRICS["tpot"]]
    data = figdata.pareto_scatter_data(DESIGNS, PARETO, BASELINES, axes=axes,
                                       knobs=["sram", "hbm"], knob_units={"sram": "bytes"})
    # d3 has no throughput: dropped; groups ordered so that Pareto and baselines draw on top
    assert list(data["label"]) == ["d2", "d0", "d1", "H100", "A100"]
    assert list(data["group"]) == ["infeasible", "explored", "pareto", "baseline", "baseline"]
    d1 = data[data["label"] == "d1"].iloc[0]
    assert d1["y"] == pytest.approx(10.0)  # 0.01 s shown in ms
    assert "sram: 64 MiB" in d1["hover"] and "hbm: hbm3e" in d1["hover"]
    assert "time per output token: 10 ms" in d1["hover"]


def test_scatter_three_axes_has_z():
    axes = [figdata.METRICS["throughput_per_chip"], figdata.METRICS["tpot"],
            figdata.resolve_metric("sa_count", DESIGNS.columns)]
    data = figdata.pareto_scatter_data(DESIGNS, PARETO, pd.DataFrame(), axes=axes)
    assert {"x", "y", "z"} <= set(data.columns) and len(data) == 3


def test_baseline_hover_names_tp_and_missed_constraints():
    b = pd.DataFrame({"baseline": ["h200"], "tp": [2], "feasible": [0], "tpot_s": [0.01],
                      "throughput_per_chip_tok_s": [100.0]})
    axes = [figdata.METRICS["throughput_per_chip"], figdata.METRICS["tpot"]]
    hover = figdata.pareto_scatter_data(pd.DataFrame(), pd.DataFrame(), b, axes=axes)["hover"][0]
    assert hover.startswith("<b>H200</b> (baseline, tp 2, misses a constraint")


def test_baselines_over_scenarios_take_worst_latency_and_geomean_rate():
    agg = figdata.aggregate_baselines(BASELINES).set_index("baseline")
    assert agg.loc["h100", "tpot_s"] == pytest.approx(0.04)
    assert agg.loc["h100", "throughput_per_chip_tok_s"] == pytest.approx(200.0)
    assert agg.loc["a100", "tpot_s"] == pytest.approx(0.05)


# ------------------------------------------------------------- parallel coordinates ----
def test_parallel_coordinates_codes_text_knobs_and_pads_constant_ones():
    pc = figdata.parallel_coordinates_data(DESIGNS, ["sram", "hbm", "sa_count", "missing"],
                                           figdata.METRICS["tpot"],
                                           knob_units={"sram": "bytes"})
    dims = {d["label"]: d for d in pc["dimensions"]}
    assert set(dims) == {"sram", "hbm", "sa_count"}
    assert dims["hbm"]["ticktext"] == ["hbm3", "hbm3e"]
    assert dims["hbm"]["values"] == [0.0, 1.0, 0.0, 0.0]
    assert dims["sram"]["ticktext"] == ["16 MiB", "64 MiB"]
    assert dims["sa_count"]["range"] == [4.0, 8.0]
    assert dims["sa_count"]["tickvals"] == [4.0, 8.0] and dims["sa_count"]["ticktext"] == [
        "4", "8"]
    assert pc["color"] == pytest.approx([20.0, 10.0, 5.0, 30.0])
    const = figdata.parallel_coordinates_data(PARETO, ["sa_count"], None)
    lo, hi = const["dimensions"][0]["range"]
    assert lo < 8.0 < hi and const["color"] is None


# ---------------------------------------------------------------------- hypervolume ----
def test_hypervolume_sorted_and_checked():
    hv = pd.DataFrame({"evaluations": [20, 10, 30], "hypervolume": [0.5, 0.2, np.nan]})
    out = figdata.hypervolume_data(hv)
    assert list(out["evaluations"]) == [10, 20]
    with pytest.raises(AdorError, match="hypervolume"):
        figdata.hypervolume_data(pd.DataFrame({"evaluations": [1]}))


# ------------------------------------------------------- breakdown and roofline ----
@pytest.fixture(scope="module")
def breakdown():
    sc = Scenario(batch=4, input_len=128, output_len=32)
    return evaluate(hardware=hardware("ador-hetero"), model=model("llama3-8b"), scenario=sc)


def test_latency_breakdown_from_breakdown_or_json(breakdown):
    a = figdata.latency_breakdown_data({"hetero": breakdown})
    b = figdata.latency_breakdown_data({"hetero": to_json(breakdown)})
    pd.testing.assert_frame_equal(a, b)
    assert set(a["stage"]) == {"prefill", "decode"}
    assert {"gemm", "attention"} <= set(a["op_class"])
    for stage, part in a.groupby("stage"):
        assert part["share"].sum() == pytest.approx(1.0)
        stage_obj = getattr(breakdown, stage)
        assert part["time_s"].sum() == pytest.approx(sum(stage_obj.class_times_s.values()))


def test_unit_peaks_of_a_heterogeneous_chip():
    hw = hardware("ador-hetero")
    peaks = figdata.unit_peaks(hw, "fp16")
    chip = hw.chip
    sa = chip.unit("systolic_array")
    assert peaks["flops_per_s"]["systolic_array"] == pytest.approx(
        2 * sa.count * sa.rows * sa.cols * chip.clock_hz)
    assert set(peaks["flops_per_s"]) == {"systolic_array", "mac_tree", "vector_unit"}
    assert peaks["hbm_bytes_per_s"] == pytest.approx(chip.hbm.bandwidth_bytes_per_s)
    fp8 = figdata.unit_peaks(hw, "fp8")
    assert fp8["flops_per_s"]["systolic_array"] == pytest.approx(
        2 * peaks["flops_per_s"]["systolic_array"])


def test_roofline_places_operators_on_their_panel(breakdown):
    peaks = {"name": "x", "hbm_bytes_per_s": 1e12,
             "flops_per_s": {"systolic_array": 1e14, "mac_tree": 2e13, "vector_unit": 1e12}}
    rd = figdata.roofline_data(breakdown, peaks)
    roofs = rd["roofs"].set_index("unit")
    assert list(roofs.index) == ["systolic array", "mac tree", "both matrix units",
                                 "vector unit"]
    assert roofs.loc["both matrix units", "peak_flops_s"] == pytest.approx(1.2e14)
    assert roofs.loc["systolic array", "ridge"] == pytest.approx(100.0)
    pts = rd["points"]
    assert set(pts.loc[pts["panel"] == "matrix", "op_class"]) <= {"gemm", "attention"}
    assert set(pts.loc[pts["panel"] == "vector", "op_class"]) <= {"vector"}
    assert (pts["intensity"] > 0).all() and (pts["flops_s"] > 0).all()
    # decode GEMVs are memory-bound: far lower intensity than prefill GEMMs
    gemm = pts[pts["op_class"] == "gemm"]
    assert gemm[gemm["stage"] == "decode"]["intensity"].median() * 10 < gemm[
        gemm["stage"] == "prefill"]["intensity"].median()


def test_roofline_of_a_matrix_only_gpu_has_no_combined_roof():
    peaks = figdata.unit_peaks(hardware("h100"), "fp16")
    fake = {"breakdown": {"operators": [
        {"stage": "decode", "name": "qkv", "class": "gemm", "time_s": 1e-3, "flops": 1e9,
         "hbm_bytes": 1e9, "bound": "hbm"},
        {"stage": "decode", "name": "allreduce", "class": "collective", "time_s": 1e-4,
         "flops": 0.0, "hbm_bytes": 0.0, "bound": "communication"}]}}
    rd = figdata.roofline_data(fake, peaks)
    assert "both matrix units" not in set(rd["roofs"]["unit"])
    assert list(rd["points"]["name"]) == ["qkv"]
    assert rd["points"]["flops_s"].iloc[0] == pytest.approx(1e12)


# ------------------------------------------------------------------ area and power ----
def test_area_power_from_component_list_or_area_json():
    a = figdata.area_power_data({"components": [
        {"name": "sram", "area_mm2": 50.0, "power_w": 10.0},
        {"component": "hbm phy", "area_mm2": 30.0},
        {"name": "total", "area_mm2": 80.0}]})
    assert list(a["component"]) == ["sram", "hbm phy"] and set(a["design"]) == {"design"}
    assert math.isnan(a.loc[1, "power_w"])
    one = {"hardware": "x", "area_mm2": {"sram": 50.0, "total": 50.0},
           "peak_power_w": {"sram": 10.0, "hbm": 3.0, "total": 13.0}}
    b = figdata.area_power_data(one).set_index("component")
    assert b.loc["hbm", "power_w"] == 3.0 and math.isnan(b.loc["hbm", "area_mm2"])
    assert "total" not in b.index and set(b["design"]) == {"x"}
    both = figdata.area_power_data({"A": one, "B": one})
    assert list(dict.fromkeys(both["design"])) == ["A", "B"]
    assert both.groupby("design")["power_w"].sum().tolist() == [13.0, 13.0]
    with pytest.raises(AdorError, match="area data"):
        figdata.area_power_data({"A": {"nothing": 1}})


def test_area_json_of_a_template_matches_ador_area():
    from ador.report.html import area_json

    from ador.cli.area_cmd import area_report

    j = area_json(hardware("ador-hetero"))
    ref = area_report("ador-hetero")
    df = figdata.area_power_data(j)
    assert df["area_mm2"].sum() == pytest.approx(ref["area_mm2"]["total"])
    assert df["power_w"].sum() == pytest.approx(ref["peak_power_w"]["total"])


# ---------------------------------------------------------------------- validation ----
def test_validation_points_band_and_summary():
    rows = {"rows": [
        {"id": "a", "predicted": 1.05, "measured": 1.0, "metric": "tpot"},
        {"id": "b", "predicted": 2.0, "measured": 1.0, "metric": "ttft", "ape": 1.0},
        {"id": "c", "predicted": None, "measured": 1.0, "metric": "tpot"},
        {"id": "d", "predicted": 0.0, "measured": 1.0, "metric": "tpot"},
    ]}
    vd = figdata.validation_data(rows)
    pts = vd["points"]
    assert list(pts["id"]) == ["a", "b"]
    assert list(pts["within"]) == [True, False]
    assert pts["ape"].tolist() == pytest.approx([0.05, 1.0])
    assert pts["label"].iloc[0] == "a · tpot"
    assert vd["mape"] == pytest.approx(0.525) and vd["within_share"] == 0.5
    lo, hi = vd["line"]
    assert lo < 1.0 and hi > 2.0
    with pytest.raises(AdorError, match="measured"):
        figdata.validation_data([{"id": "a", "predicted": 1.0}])
