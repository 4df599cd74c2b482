"""Numeric precisions and their element sizes."""

from __future__ import annotations

from enum import Enum


class Precision(str, Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"

    @property
    def bytes(self) -> float:
        return BYTES_PER_ELEMENT[self]


BYTES_PER_ELEMENT: dict[Precision, float] = {
    Precision.FP32: 4.0,
    Precision.FP16: 2.0,
    Precision.BF16: 2.0,
    Precision.FP8: 1.0,
    Precision.INT8: 1.0,
    Precision.INT4: 0.5,
}

# Matrix-unit throughput relative to FP16 when the datapath supports the precision natively:
# one FP16 multiplier array yields two 8-bit products per cycle on NVIDIA Ampere/Hopper
# tensor cores (A100 INT8 624 TOPS vs FP16 312 TFLOPS; H100 FP8 1979 vs FP16 989 TFLOPS,
# NVIDIA A100/H100 datasheets) and on the usual systolic designs.
RATE_VS_FP16: dict[Precision, float] = {
    Precision.FP32: 0.5,
    Precision.FP16: 1.0,
    Precision.BF16: 1.0,
    Precision.FP8: 2.0,
    Precision.INT8: 2.0,
    Precision.INT4: 4.0,
}
