"""Fit of the power model's two free constants on measured board power under serving load,
constrained by measured GEMM ceilings.

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
that do not depend on the two constants (idle, global buffer, HBM, links, operand
traffic of the MACs) and two that are proportional to them (busy; the arithmetic of the
MACs, found by simulating the row again with a MAC energy scale of 0). The prediction of
a row for constants (a, b) is ``min(limit, fixed + busy * a / a0 + matrix * b / b0)``: at
the limit the chip lowers its clock until it fits, so the power is the limit whatever the
constants, as long as they put it there.

Operator-level constraint: real GPUs reach their measured GEMM ceilings
(``../shared/validation/operators/kernel_ceilings.csv``, mamf-finder, BF16: 792.1 TFLOP/s
on H100 SXM, 267.9 on A100 SXM) within their board limits (700 W, 400 W). The clock they
run at there is unknown, but no lower than ceiling / nominal peak (0.801 of 1.83 GHz on
the H100, 0.859 of 1.41 GHz on the A100), the clock at which even a fully used datapath
delivers the ceiling. The fit therefore admits only constants with which each ceiling's
GEMM (idle + busy x s v² + (MACs + operand traffic) x v², s that lowest clock, v its
alpha-power voltage; :func:`gemm_power_w`) fits its limit. Both constraints are
inequalities; the A100's binds.

The fit minimises the sum of squared log errors over a grid (``busy_w_per_mtr_ghz``
0.5e-3 to 10e-3 W per MTr GHz by 0.05e-3, ``mac_energy_scale`` 0.5-10 by 0.05) on the
admissible constants, with ties broken towards the smallest constants (the least power
that explains the rows).

Result on the public rows (``scripts/fit_power.py`` prints it; the values are the
defaults of BoardPowerConstants), with a mean input length of 384 tokens
(ador.validation.energy.ASSUMED_MEAN_INPUT_TOKENS):

    busy_w_per_mtr_ghz = 2.15e-3 W per MTr GHz, mac_energy_scale = 2.6, rms log error 0.041
    en-pub-002 (8B, cap 16)   measured 513.3 W, fitted 531.5 W (+3.6 %)
    en-pub-005 (8B, cap 128)  measured 669.2 W, fitted 626.4 W (-6.4 %)
    en-pub-008 (8B, cap 512)  measured 688.3 W, fitted 669.8 W (-2.7 %)
    en-pub-011 (70B TP4, 64)  measured 500.4 W, fitted 508.8 W (+1.7 %)
    A100 SXM GEMM at 267.9 TFLOP/s: 399 W at clock 0.859 (limit 400 W; 525 W at nominal)
    H100 SXM GEMM at 792.1 TFLOP/s: 575 W at clock 0.801 (limit 700 W; 884 W at nominal)

Without the constraint the optimum (3.2e-3, 3.8; rms log error 0.026) puts those GEMMs at
1,030 W (H100) and 715 W (A100) at nominal clock, and the A100 still above its limit at
its lowest admissible clock. The constrained fit trades 1.5 points of rms log error for
constants consistent with the operator measurements. A GEMM at nominal clock still
exceeds the limit: the GPUs reach their ceilings at a lowered clock, which their
calibrated kernel efficiencies already hold (ador.model.board_power.work_clock_fraction).

On the H100 (533 mm² clocked at 146.5 MTr/mm², 1.83 GHz) the busy power is 342 W; on the
A100, 173 W. A BF16 MAC on the H100 costs 2.6 x 0.354 pJ of arithmetic + 0.05 pJ of
operands = 0.97 pJ, about 0.48 pJ per FLOP.

Two constants on four rows of one GPU, one row near the limit, and two inequalities: the
fit is well determined for this GPU and these loads only; the held-out rows (other caps,
70B at TP4, a 405B FP8 model at TP8) check it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ador.model.area import area
from ador.model.board_power import (
    BoardPowerConstants,
    busy_power_w,
    core_energy_scale,
    idle_power_w,
    scaled_energies,
)
from ador.model.design import DesignArrays
from ador.model.power import PowerConstants
from ador.model.units import matrix_kinds
from ador.spec.hardware import HardwareSpec
from ador.spec.precision import RATE_VS_FP16, Precision

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
class CeilingConstraint:
    """A measured GEMM ceiling that the chip reaches within its board limit.

    At the ceiling the chip runs at a clock fraction of at least ``min_clock_fraction``
    (the ceiling over the peak matrix rate at nominal clock: a clock at which even a
    fully used datapath delivers it); its power there is ``idle_w + (operand_w +
    matrix_w) x v² + busy_w x s x v²`` at the fit's constants (parts at the constants
    they were computed with, scaled like :func:`predict`).
    """

    hardware: str
    flops_per_s: float
    limit_w: float
    min_clock_fraction: float
    idle_w: float
    operand_w: float  # operand traffic (global buffer, local buffers), at nominal clock
    busy_w: float  # at nominal clock
    matrix_w: float  # arithmetic of the MACs, at nominal clock


@dataclass(frozen=True)
class PowerFit:
    busy_w_per_mtr_ghz: float
    mac_energy_scale: float
    predicted_w: tuple[float, ...]
    signed_errors: tuple[float, ...]
    rms_log_error: float
    ceiling_power_w: tuple[float, ...] = ()  # per constraint, at its lowest clock


def observation(*, row_id: str, measured_w: float, limit_w: float | None,
                components_w: dict[str, float],
                matrix_at_zero_scale_w: float = 0.0) -> PowerObservation:
    """One row from its power parts at full clock. ``matrix_at_zero_scale_w``: the matrix
    part with ``mac_energy_scale`` = 0 (the operand traffic of the MACs, which the scale
    does not multiply); it moves to the fixed part so that the prediction is exact."""
    c = components_w
    return PowerObservation(
        row_id=row_id, measured_w=measured_w,
        limit_w=np.inf if limit_w is None else float(limit_w),
        fixed_w=c["idle"] + c["global_buffer"] + c["hbm"] + c["links"]
        + matrix_at_zero_scale_w,
        busy_w=c["busy"], matrix_w=c["matrix"] - matrix_at_zero_scale_w)


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


def ceiling_power(cons: list[CeilingConstraint], *, busy_w_per_mtr_ghz: np.ndarray | float,
                  mac_energy_scale: np.ndarray | float,
                  base: BoardPowerConstants = BoardPowerConstants()) -> np.ndarray:
    """Power of every constraint's GEMM (last axis) at its lowest clock, for constants
    broadcast on leading axes."""
    a = np.asarray(busy_w_per_mtr_ghz, dtype=np.float64)[..., None] / base.busy_w_per_mtr_ghz
    b = np.asarray(mac_energy_scale, dtype=np.float64)[..., None] / base.mac_energy_scale
    s = np.array([k.min_clock_fraction for k in cons])
    v2 = core_energy_scale(s, base)
    idle = np.array([k.idle_w for k in cons])
    operand = np.array([k.operand_w for k in cons])
    busy = np.array([k.busy_w for k in cons])
    matrix = np.array([k.matrix_w for k in cons])
    return idle + (operand + b * matrix) * v2 + a * busy * s * v2


def fit_power(obs: list[PowerObservation], constraints: list[CeilingConstraint] | None = None,
              base: BoardPowerConstants = BoardPowerConstants()) -> PowerFit:
    """Least squares in log power over the grid, subject to every GEMM ceiling fitting
    its board limit (see the module docstring)."""
    if not obs:
        raise ValueError("no power observations to fit")
    cons = constraints or []
    a, b = np.meshgrid(BUSY_GRID, SCALE_GRID, indexing="ij")
    p = predict(obs, busy_w_per_mtr_ghz=a, mac_energy_scale=b, base=base)
    measured = np.array([o.measured_w for o in obs])
    cost = np.sum(np.log(p / measured) ** 2, axis=-1)
    if cons:
        ceiling = ceiling_power(cons, busy_w_per_mtr_ghz=a, mac_energy_scale=b, base=base)
        fits = np.all(ceiling <= np.array([k.limit_w for k in cons]), axis=-1)
        if not np.any(fits):
            raise ValueError("no constants on the grid let every GEMM ceiling fit its limit")
        cost = np.where(fits, cost, np.inf)
    best = np.flatnonzero(cost.ravel() <= cost.min() * (1 + 1e-9))[0]
    i, j = np.unravel_index(best, cost.shape)
    pred = p[i, j]
    at = ceiling_power(cons, busy_w_per_mtr_ghz=a[i, j], mac_energy_scale=b[i, j],
                       base=base) if cons else np.zeros(0)
    return PowerFit(busy_w_per_mtr_ghz=float(a[i, j]), mac_energy_scale=float(b[i, j]),
                    predicted_w=tuple(float(x) for x in pred),
                    signed_errors=tuple(float(x) for x in pred / measured - 1.0),
                    rms_log_error=float(np.sqrt(cost[i, j] / len(obs))),
                    ceiling_power_w=tuple(float(x) for x in np.ravel(at)))


def gemm_parts_w(*, hardware: HardwareSpec, flops_per_s: float,
                 precision: Precision = Precision.BF16,
                 power_constants: PowerConstants = PowerConstants(),
                 c: BoardPowerConstants = BoardPowerConstants()) -> dict[str, float]:
    """Board power of a large GEMM running at ``flops_per_s`` at nominal clock and
    voltage, by part (W): idle, busy, MACs and operand tiles through the global buffer
    (largest output tile, multicast); HBM traffic of a large GEMM is negligible."""
    d = DesignArrays.from_specs([hardware])
    a = area(designs=d)
    e = scaled_energies(designs=d, area_mm2=a.total, precision=precision,
                        power_constants=power_constants, c=c)
    macs = flops_per_s / 2.0
    tile_m, tile_n = float(d.sa_tile_rows.max()), float(d.sa_tile_cols.max())
    operand_bytes = precision.bytes * (1.0 / tile_m + 1.0 / tile_n) / float(d.sa_multicast[0])
    reg = power_constants.regulator_efficiency
    return {
        "idle": float(idle_power_w(designs=d, area_mm2=a.total,
                                   power_constants=power_constants, c=c)[0]),
        "busy": float(busy_power_w(designs=d, areas=a, power_constants=power_constants,
                                   c=c)[0]),
        "matrix": macs * float(e.mac[matrix_kinds()[0].name][0]) / reg,
        "operands": macs * operand_bytes * float(e.global_byte[0]) / reg,
    }


def gemm_power_w(*, hardware: HardwareSpec, flops_per_s: float,
                 precision: Precision = Precision.BF16, clock_fraction: float = 1.0,
                 power_constants: PowerConstants = PowerConstants(),
                 c: BoardPowerConstants = BoardPowerConstants()) -> float:
    """Board power of a large GEMM running at ``flops_per_s`` with the core clock at
    ``clock_fraction`` of nominal (busy power x s v², event energies x v²; the rate is
    given, not derived from the clock)."""
    p = gemm_parts_w(hardware=hardware, flops_per_s=flops_per_s, precision=precision,
                     power_constants=power_constants, c=c)
    v2 = float(core_energy_scale(clock_fraction, c)[()])
    return p["idle"] + (p["matrix"] + p["operands"]) * v2 + p["busy"] * clock_fraction * v2


def peak_matrix_flops(hardware: HardwareSpec, precision: Precision = Precision.BF16) -> float:
    """Peak matrix FLOP/s of a chip at nominal clock (2 FLOPs per MAC, all matrix kinds)."""
    d = DesignArrays.from_specs([hardware])
    macs = sum(float(k.macs_per_cycle(d)[0]) for k in matrix_kinds())
    return 2.0 * macs * float(d.clock_hz[0]) * RATE_VS_FP16[precision]


# Hardware names of the kernel-ceilings CSV -> ador hardware templates.
CEILING_HARDWARE = {"H100 SXM": "h100-sxm-80gb", "A100 SXM": "a100-sxm-80gb"}
CEILING_METRIC = "max_achievable_matmul_TFLOPS"


def read_gemm_ceilings(path: Path) -> list[tuple[str, Precision, float]]:
    """(template, precision, FLOP/s) of every measured GEMM ceiling of a template's GPU."""
    out = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = CEILING_HARDWARE.get(row.get("hardware", "").strip())
            if name and row.get("metric", "").strip() == CEILING_METRIC:
                out.append((name, Precision(row["precision"].strip()),
                            float(row["value"]) * 1e12))
    return out


def ceiling_constraint(*, hardware: HardwareSpec, flops_per_s: float,
                       precision: Precision = Precision.BF16,
                       power_constants: PowerConstants = PowerConstants(),
                       c: BoardPowerConstants = BoardPowerConstants()) -> CeilingConstraint:
    """The constraint of one measured ceiling (parts at the constants ``c``)."""
    if hardware.chip.board_power_limit_w is None:
        raise ValueError(f"{hardware.name} has no board power limit")
    p = gemm_parts_w(hardware=hardware, flops_per_s=flops_per_s, precision=precision,
                     power_constants=power_constants, c=c)
    # MAC energy = operand part + scale x arithmetic part: split it so that the
    # constraint's power is exact for any scale.
    fixed = gemm_parts_w(hardware=hardware, flops_per_s=flops_per_s, precision=precision,
                         power_constants=power_constants, c=replace(c, mac_energy_scale=0.0))
    s = min(1.0, flops_per_s / peak_matrix_flops(hardware, precision))
    return CeilingConstraint(hardware=hardware.name, flops_per_s=flops_per_s,
                             limit_w=float(hardware.chip.board_power_limit_w),
                             min_clock_fraction=s, idle_w=p["idle"],
                             operand_w=p["operands"] + fixed["matrix"], busy_w=p["busy"],
                             matrix_w=p["matrix"] - fixed["matrix"])
