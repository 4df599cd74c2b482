"""Fit of the power model's two free constants on measured board power under serving load.

Free constants (ador.model.board_power.BoardPowerConstants): ``busy_w_per_mtr_ghz``, the
power of running cores whatever they compute (per million clocked transistors and GHz),
and ``mac_energy_scale``, the factor on the arithmetic energy of a MAC for what a real
datapath spends beyond the bare multiplier and adder. Everything else
(idle power, per-byte energies of global buffer, HBM and links, regulator efficiency,
the clock/voltage law) keeps its sourced value.

Data: the ``avg_power_per_gpu`` rows of an energy reference CSV
(``../shared/validation/energy_public.csv``: ML.ENERGY v3, H100 SXM, Llama-3.1-8B at caps
16, 128 and 512 on one GPU, Llama-3.3-70B at cap 64 on four). Each row's load is simulated
once at full clock (ador.validation.energy); its average power per chip splits into parts
that do not depend on the two constants (idle, global buffer, HBM, links) and two that are
proportional to them (busy, matrix). The prediction of a row for constants (a, b) is
``min(limit, fixed + busy * a / a0 + matrix * b / b0)``: at the limit the chip lowers its
clock until it fits, so the power is the limit whatever the constants, as long as they
put it there. The fit minimises the sum of squared log errors over a grid
(``busy_w_per_mtr_ghz`` 0.5e-3 to 10e-3 W per MTr GHz by 0.05e-3, ``mac_energy_scale``
0.5-10 by 0.05), with ties broken towards the smallest constants (the least power that
explains the rows).

Result on the public rows (``scripts/fit_power.py`` prints it; the values are the
defaults of BoardPowerConstants), with a mean input length of 384 tokens
(ador.validation.energy.ASSUMED_MEAN_INPUT_TOKENS):

    busy_w_per_mtr_ghz = 3.2e-3 W per MTr GHz, mac_energy_scale = 3.8, rms log error 0.026
    en-pub-002 (8B, cap 16)   measured 513.3 W, fitted 508.7 W (-0.9 %)
    en-pub-005 (8B, cap 128)  measured 669.2 W, fitted 647.9 W (-3.2 %)
    en-pub-008 (8B, cap 512)  measured 688.3 W, fitted 700.0 W (+1.7 %, at the limit)
    en-pub-011 (70B TP4, 64)  measured 500.4 W, fitted 519.2 W (+3.7 %)

On the H100 (533 mm² clocked at 146.5 MTr/mm², energy scale 0.6, 1.83 GHz) the busy
power is 305 W; a BF16 MAC costs 3.8 x 0.354 pJ of arithmetic + 0.05 pJ of operands
= 1.4 pJ, about 0.7 pJ per FLOP.

Two constants on four rows, one of which sits at the limit: the fit is well determined
for this GPU and these loads only; the held-out rows (other caps, 70B at TP4, a 405B FP8
model at TP8) check it.

Known tension (:func:`gemm_power_w`): the measured GEMM ceilings
(../shared/validation/operators/kernel_ceilings.csv: BF16 792.1 TFLOP/s on H100 SXM,
267.9 on A100 SXM) are reached within the board limit, but with these constants a GEMM at
those rates and nominal clock draws about 1,030 W on the H100 and 715 W on the A100, so
ador throttles compute-bound work that the kernel calibration already saw at its real
(possibly already limited) clock. The serving rows need power to rise steeply from cap 16
to 128 while the rows' throughput stays below ador's; a GPU that is power-limited during
its compute-heavy kernels only (the power manager acts within milliseconds) would explain
both, and a per-phase clock (GEMM vs memory-bound phases of an iteration) is the next
refinement of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.area import area
from ador.model.board_power import (
    BoardPowerConstants,
    busy_power_w,
    idle_power_w,
    scaled_energies,
)
from ador.model.design import DesignArrays
from ador.model.power import PowerConstants
from ador.model.units import matrix_kinds
from ador.spec.hardware import HardwareSpec
from ador.spec.precision import Precision

BUSY_GRID = np.round(np.arange(0.5e-3, 10e-3 + 1e-12, 0.05e-3), 7)
SCALE_GRID = np.round(np.arange(0.5, 10.0 + 1e-9, 0.05), 4)


@dataclass(frozen=True)
class PowerObservation:
    """One measured row and the model's power parts for it at full clock (W per chip)."""

    row_id: str
    measured_w: float
    limit_w: float  # +inf without a limit
    fixed_w: float  # idle + global buffer + HBM + links
    busy_w: float  # at the constants the parts were computed with
    matrix_w: float


@dataclass(frozen=True)
class PowerFit:
    busy_w_per_mtr_ghz: float
    mac_energy_scale: float
    predicted_w: tuple[float, ...]
    signed_errors: tuple[float, ...]
    rms_log_error: float


def observation(*, row_id: str, measured_w: float, limit_w: float | None,
                components_w: dict[str, float]) -> PowerObservation:
    c = components_w
    return PowerObservation(
        row_id=row_id, measured_w=measured_w,
        limit_w=np.inf if limit_w is None else float(limit_w),
        fixed_w=c["idle"] + c["global_buffer"] + c["hbm"] + c["links"],
        busy_w=c["busy"], matrix_w=c["matrix"])


def predict(obs: list[PowerObservation], *, busy_w_per_mtr_ghz: np.ndarray | float,
            mac_energy_scale: np.ndarray | float,
            base: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Power of every observation (last axis) for constants broadcast on leading axes."""
    a = np.asarray(busy_w_per_mtr_ghz, dtype=np.float64)[..., None] / base.busy_w_per_mtr_ghz
    b = np.asarray(mac_energy_scale, dtype=np.float64)[..., None] / base.mac_energy_scale
    fixed = np.array([o.fixed_w for o in obs])
    busy = np.array([o.busy_w for o in obs])
    matrix = np.array([o.matrix_w for o in obs])
    limit = np.array([o.limit_w for o in obs])
    return np.minimum(limit, fixed + a * busy + b * matrix)


def fit_power(obs: list[PowerObservation],
              base: BoardPowerConstants = BoardPowerConstants()) -> PowerFit:
    """Least squares in log power over the grid (see the module docstring)."""
    if not obs:
        raise ValueError("no power observations to fit")
    a, b = np.meshgrid(BUSY_GRID, SCALE_GRID, indexing="ij")
    p = predict(obs, busy_w_per_mtr_ghz=a, mac_energy_scale=b, base=base)
    measured = np.array([o.measured_w for o in obs])
    cost = np.sum(np.log(p / measured) ** 2, axis=-1)
    best = np.flatnonzero(cost.ravel() <= cost.min() * (1 + 1e-9))[0]
    i, j = np.unravel_index(best, cost.shape)
    pred = p[i, j]
    return PowerFit(busy_w_per_mtr_ghz=float(a[i, j]), mac_energy_scale=float(b[i, j]),
                    predicted_w=tuple(float(x) for x in pred),
                    signed_errors=tuple(float(x) for x in pred / measured - 1.0),
                    rms_log_error=float(np.sqrt(cost[i, j] / len(obs))))


def gemm_power_w(*, hardware: HardwareSpec, flops_per_s: float,
                 precision: Precision = Precision.BF16,
                 power_constants: PowerConstants = PowerConstants(),
                 c: BoardPowerConstants = BoardPowerConstants()) -> float:
    """Board power of a large GEMM running at ``flops_per_s`` at nominal clock: idle + busy
    + MACs + operand tiles through the global buffer (largest output tile, multicast);
    HBM traffic of a large GEMM is negligible. A consistency check against measured GEMM
    ceilings, which real GPUs reach within their board limit."""
    d = DesignArrays.from_specs([hardware])
    a = area(designs=d)
    e = scaled_energies(designs=d, area_mm2=a.total, precision=precision,
                        power_constants=power_constants, c=c)
    macs = flops_per_s / 2.0
    tile_m, tile_n = float(d.sa_tile_rows.max()), float(d.sa_tile_cols.max())
    operand_bytes = precision.bytes * (1.0 / tile_m + 1.0 / tile_n) / float(d.sa_multicast[0])
    dynamic = macs * (float(e.mac[matrix_kinds()[0].name][0]) + operand_bytes * float(e.global_byte[0]))
    return float(dynamic / power_constants.regulator_efficiency
                 + idle_power_w(designs=d, area_mm2=a.total, power_constants=power_constants,
                                c=c)[0]
                 + busy_power_w(designs=d, areas=a, power_constants=power_constants, c=c)[0])
