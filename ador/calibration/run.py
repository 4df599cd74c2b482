"""Calibrate every GPU template from the shared operator measurements.

A100 and H100 have per-operator data; the H200 is the H100 die with HBM3e, so it takes the
H100's compute parameters and keeps its own HBM figures. The 8-bit matrix efficiency scale
comes from the FlashAttention-3 FP8/FP16 ceilings. Flash-attention prefill data exist for
the A100 only; Hopper's attention efficiency is the A100 fit scaled by the ratio of the
published best FlashAttention-3 (H100) and FlashAttention-2 (A100) forward throughputs,
each over its chip's peak (kernel_ceilings.csv).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ador.calibration.data import (
    NETWORK_DIRS,
    load_allreduce,
    load_attention,
    load_ceilings,
    load_mlp,
)
from ador.calibration.fit import LAUNCH_GAP_S, fit_allreduce, fit_attention, fit_compute
from ador.calibration.report import OperatorError, operator_errors, predictions
from ador.spec.hardware import Calibration, HardwareSpec
from ador.spec.io import load_hardware

MEASURED = {"a100-sxm-80gb": "a100-sxm-80gb", "h100-sxm-80gb": "h100-sxm-80gb",
            "h200-sxm-141gb": "h100-sxm-80gb"}
A100_PEAK_TFLOPS, H100_PEAK_TFLOPS = 312.0, 989.4


@dataclass(frozen=True)
class CalibrationResult:
    hardware: str
    calibration: Calibration
    errors: tuple[OperatorError, ...]


def _ceiling(ceilings: pd.DataFrame, hardware_prefix: str, source_prefix: str) -> float:
    rows = ceilings[ceilings["hardware"].str.startswith(hardware_prefix)
                    & ceilings["source"].str.startswith(source_prefix)
                    & ceilings["precision"].str.contains("fp16")]
    return float(rows["value"].max())


def hopper_attention_scale(ceilings: pd.DataFrame) -> float:
    fa2_a100 = _ceiling(ceilings, "A100", "FlashAttention-2") / A100_PEAK_TFLOPS
    fa3_h100 = _ceiling(ceilings, "H100", "FlashAttention-3") / H100_PEAK_TFLOPS
    return fa3_h100 / fa2_a100


def eight_bit_scale(ceilings: pd.DataFrame) -> float:
    """Tensor-core efficiency of 8-bit relative to 16-bit work: the best published
    FlashAttention-3 FP8 and FP16 forward throughputs on H100, each over its peak
    (1979 and 989.4 TFLOP/s). No FP8 GEMM ceiling is in the measurement set."""
    fa3 = ceilings[ceilings["source"].str.startswith("FlashAttention-3")]
    fp8 = float(fa3[fa3["precision"] == "fp8"]["value"].max()) / (2 * H100_PEAK_TFLOPS)
    fp16 = float(fa3[fa3["precision"] == "fp16"]["value"].max()) / H100_PEAK_TFLOPS
    return min(1.0, fp8 / fp16)


def calibrate_all(templates=tuple(MEASURED)) -> list[CalibrationResult]:
    mlp, attention, ceilings = load_mlp(), load_attention(), load_ceilings()
    fitted: dict[str, dict] = {}
    a100_attention = None
    results = []
    for name in templates:
        spec = load_hardware(name)
        source = MEASURED[name]
        if source not in fitted:
            measured_spec = load_hardware(source)
            params = fit_compute(hardware=measured_spec, rows=mlp[mlp["hardware"] == source])
            params.update(fit_allreduce(hardware=measured_spec,
                                        rows=load_allreduce(NETWORK_DIRS[source])))
            fitted[source] = params
        params = fitted[source]
        if a100_attention is None:
            a100 = load_hardware("a100-sxm-80gb")
            a100_params = fitted.get("a100-sxm-80gb") or fit_compute(
                hardware=a100, rows=mlp[mlp["hardware"] == "a100-sxm-80gb"])
            a100_attention = fit_attention(hardware=a100, params={
                k: v for k, v in a100_params.items() if not k.startswith("allreduce")},
                rows=attention)
        params["eight_bit_scale"] = eight_bit_scale(ceilings)
        attn = a100_attention if source == "a100-sxm-80gb" else min(
            1.0, a100_attention * hopper_attention_scale(ceilings))
        cal = calibration_from(params, attention_efficiency=attn, source=_note(name, source))
        calibrated = with_calibration(spec, cal)
        rows = mlp[mlp["hardware"] == source]
        preds = predictions(hardware=calibrated, mlp=rows,
                            attention=attention if source == "a100-sxm-80gb" else None,
                            allreduce=load_allreduce(NETWORK_DIRS[source]))
        results.append(CalibrationResult(hardware=name, calibration=cal,
                                         errors=tuple(operator_errors(name, preds))))
    return results


def calibration_from(params: dict, *, attention_efficiency: float, source: str) -> Calibration:
    return Calibration(
        matrix_efficiency=round(params["matrix_eff"], 4),
        matrix_efficiency_8bit_scale=round(params["eight_bit_scale"], 4),
        overlap_exponent=round(params["overlap_exp"], 3),
        attention_efficiency=round(attention_efficiency, 4),
        vector_efficiency=1.0,
        hbm_efficiency=round(params["hbm_eff"], 4),
        elementwise_efficiency=round(params["elementwise_eff"], 4),
        activation_residency=params["act_residency"],
        kernel_overhead_s=round(params["kernel_overhead_s"] + LAUNCH_GAP_S, 8),
        min_kernel_s=0.0,
        allreduce_latency_s=round(params["allreduce_latency_s"], 8),
        allreduce_bandwidth_efficiency=round(params["allreduce_bw_eff"], 4),
        source=source,
    )


def with_calibration(spec: HardwareSpec, cal: Calibration) -> HardwareSpec:
    return spec.model_copy(update={"chip": spec.chip.model_copy(update={"calibration": cal})})


def _note(name: str, source: str) -> str:
    via = "" if name == source else f" (compute parameters of {source}: same die)"
    return (f"ador calibrate: least-squares fit of log(predicted/measured) on per-layer fp16 "
            f"kernel medians (validation/operators/compute), FlashInfer attention and NCCL "
            f"all-reduce (validation/operators/network){via}; kernel_overhead_s includes a "
            f"{LAUNCH_GAP_S * 1e6:.0f} us launch gap")
