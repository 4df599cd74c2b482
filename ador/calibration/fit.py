"""Fitting of a GPU's calibration parameters on measured kernel times.

Mechanisms, few parameters per device (never per row):
- ``matrix_efficiency``: sustained fraction of tensor-core peak inside a GEMM tile loop
  (tile and wave quantisation, split-K and L2 operand traffic are modelled separately);
- ``hbm_efficiency``: achieved fraction of peak HBM bandwidth when streaming weights;
- ``elementwise_efficiency``: achieved fraction of HBM bandwidth in elementwise kernels;
- ``overlap_exponent``: how imperfectly compute and memory traffic overlap near the ridge;
- ``kernel_overhead_s``: fixed time per kernel (ramp-up and tail of a kernel, fitted on
  kernel durations) plus the gap between back-to-back kernel launches (LAUNCH_GAP_S);
- ``activation_residency``: share of L2 that keeps activations between kernels;
- ``attention_efficiency``: tensor-core efficiency of flash-attention prefill;
- ``allreduce_latency_s`` / ``allreduce_bandwidth_efficiency``: NCCL all-reduce curve.
Residuals are log(predicted / measured), weighted so that every operator type counts the
same however many rows it has.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from ador.calibration.predict import (
    allreduce_prediction,
    attention_operator,
    kernel_time,
    mlp_operator,
)
from ador.model.design import DesignArrays
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_model
from ador.workload.operators import Operator

# Gap between back-to-back kernels of a stream when the host runs ahead of the GPU: about
# 1 us (NVIDIA developer blog "Getting Started with CUDA Graphs", 2019: a ~2.9 us kernel
# launched back to back took ~3.8 us per launch). Kernel durations do not include it.
LAUNCH_GAP_S = 1.0e-6
FIT_TOKENS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)

GEMM_PARAMS = ("matrix_eff", "hbm_eff", "kernel_overhead_s", "overlap_exp")
GEMM_START, GEMM_LOWER = (0.8, 0.85, 4e-6, 4.0), (0.2, 0.3, 0.0, 1.0)
GEMM_UPPER, GEMM_SCALE = (1.0, 1.0, 3e-5, 64.0), (0.1, 0.1, 1e-6, 1.0)
RESIDENCY_GRID = (0.0, 0.02, 0.05, 0.1, 0.25, 0.5)
# The residual add is a pure streaming kernel (two reads, one write, one op per element):
# it measures the elementwise bandwidth a kernel library achieves. The profiled norms,
# RoPE, activation and embedding kernels are unfused and slower; inference runtimes fuse
# them, so they are reported, not fitted.
ELEMENTWISE_FIT_OPS = ("residual_add_attn",)


@dataclass(frozen=True)
class Group:
    """Measurements of one operator of one model at one TP degree, with its ador operator."""

    op_type: str
    op: Operator
    tp: int
    tokens: np.ndarray
    measured: np.ndarray


def _groups(rows: pd.DataFrame, *, subsample: bool) -> list[Group]:
    groups = []
    for (model, tp, op, op_type), g in rows.groupby(["model", "tp", "op", "op_type"]):
        med = g.groupby("tokens")["measured_s"].median()
        if subsample:
            med = med[med.index.isin(FIT_TOKENS)]
        tokens = med.index.to_numpy(dtype=np.float64)
        operator = mlp_operator(model=load_model(model), tp=int(tp), tokens=tokens, op=op)
        groups.append(Group(op_type=op_type, op=operator, tp=int(tp), tokens=tokens,
                            measured=med.to_numpy()))
    return groups


def with_params(base: DesignArrays, names: tuple[str, ...], values) -> DesignArrays:
    return replace(base, **{n: np.array([float(v)]) for n, v in zip(names, values, strict=False)})


def _weighted_log_residuals(groups: list[Group], predict) -> np.ndarray:
    counts: dict[str, int] = {}
    for g in groups:
        counts[g.op_type] = counts.get(g.op_type, 0) + len(g.measured)
    out = []
    for g in groups:
        pred = predict(g)
        out.append(np.log(pred / g.measured) / np.sqrt(counts[g.op_type]))
    return np.concatenate(out)


def fit_compute(*, hardware: HardwareSpec, rows: pd.DataFrame) -> dict[str, float]:
    """Fit the GEMM, HBM and elementwise parameters on per-layer kernel times of one GPU.

    Stage 1 fits matrix_eff, hbm_eff and the per-kernel time on the GEMMs; stage 2 fits the
    elementwise bandwidth efficiency for each candidate activation residency (a step
    function, so a grid) on the residual adds.
    """
    base = DesignArrays.from_specs([hardware])
    groups = _groups(rows, subsample=True)
    gemms = [g for g in groups if g.op_type == "gemm"]
    others = [g for g in groups if g.op.name in ELEMENTWISE_FIT_OPS]

    def gemm_residuals(x):
        d = with_params(base, GEMM_PARAMS, x)
        return _weighted_log_residuals(
            gemms, lambda g: kernel_time(designs=d, op=g.op, tp=g.tp)[0])

    sol = least_squares(gemm_residuals, GEMM_START, bounds=(GEMM_LOWER, GEMM_UPPER),
                        x_scale=GEMM_SCALE, method="trf")
    params = dict(zip(GEMM_PARAMS, (float(v) for v in sol.x), strict=False))
    stage1 = with_params(base, tuple(params), params.values())
    best: tuple[float, float, float] | None = None
    for residency in RESIDENCY_GRID:
        def residuals(x, residency=residency):
            d = replace(stage1, act_residency=np.array([residency]),
                        elementwise_eff=np.array([x[0]]))
            return _weighted_log_residuals(
                others, lambda g: kernel_time(designs=d, op=g.op, tp=g.tp)[0])

        fit = least_squares(residuals, [0.6], bounds=([0.05], [1.0]))
        if best is None or fit.cost < best[0]:
            best = (fit.cost, residency, float(fit.x[0]))
    assert best is not None
    params["act_residency"], params["elementwise_eff"] = best[1], best[2]
    return params


def fit_attention(*, hardware: HardwareSpec, params: dict[str, float], rows: pd.DataFrame
                  ) -> float:
    """Fit the flash-attention prefill efficiency (other parameters fixed)."""
    base = with_params(DesignArrays.from_specs([hardware]), tuple(params), params.values())
    pre = rows[rows["prefill"]]
    ops = [attention_operator(model=load_model(r.model), tp=int(r.tp), prefill=True,
                              batch=int(r.batch), chunk=int(r.chunk), context=int(r.context))
           for r in pre.itertuples()]
    measured = pre["measured_s"].to_numpy()

    def residuals(x):
        d = replace(base, attention_eff=np.array([x[0]]))
        pred = np.array([kernel_time(designs=d, op=op, tp=1)[0, 0] for op in ops])
        return np.log(pred / measured)

    sol = least_squares(residuals, [0.6], bounds=([0.05], [1.0]))
    return float(sol.x[0])


def fit_allreduce(*, hardware: HardwareSpec, rows: pd.DataFrame) -> dict[str, float]:
    """Fit the all-reduce software latency and bandwidth efficiency on NCCL timings."""
    base = DesignArrays.from_specs([hardware])
    chips = rows["chips"].to_numpy()
    size = rows["size_bytes"].to_numpy()
    measured = rows["measured_s"].to_numpy()
    names = ("allreduce_latency_s", "allreduce_bw_eff")

    def residuals(x):
        d = with_params(base, names, x)
        return np.log(allreduce_prediction(designs=d, chips=chips, size_bytes=size)[0] / measured)

    sol = least_squares(residuals, [1e-5, 0.7], bounds=([0.0, 0.05], [1e-3, 1.0]),
                        x_scale=[1e-6, 0.1])
    return dict(zip(names, (float(v) for v in sol.x), strict=False))
