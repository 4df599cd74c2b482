"""Area, power, energy and cost efficiency of a population for one evaluated scenario.

Dynamic energy of a pass is counted from the evaluator's per-operator work: matrix FLOPs
of GEMM and attention operators (split between systolic arrays and MAC trees in the
proportion of their achieved work), vector-lane work, global-buffer bytes, HBM bytes and
bytes sent over links. Operator work is per tensor-parallel shard and covers every
pipeline stage, so the system spends ``tp`` times it, with the arithmetic MAC energy
scaled by BoardPowerConstants.mac_energy_scale. Every chip draws its idle power and its busy power
(ador.model.board_power) for the whole request. Core energies follow the clock fraction
the board limit sets (``clock_fraction``, 1 without a limit; see
ador.evaluate.breakdown.evaluate). A request is one prefill pass and (e2e - ttft) / tpot
decode steps. Energy per request is the system's energy for the static batch over
its requests; power density is peak power over die area (the heat flux cooling must remove).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.evaluate.results import VECTOR_UNIT, PopulationResult, StageResult
from ador.model.area import AreaBreakdown, AreaConstants, area
from ador.model.board_power import (
    BoardPowerConstants,
    busy_power_w,
    core_energy_scale,
    idle_power_w,
    scaled_energies,
    unlimited_peak_power_w,
)
from ador.model.cost import CostBreakdown, CostConstants, chip_cost
from ador.model.design import DesignArrays
from ador.model.power import Energies, PowerBreakdown, PowerConstants, peak_power
from ador.model.units import matrix_kinds
from ador.spec.hardware import HardwareSpec
from ador.spec.precision import RATE_VS_FP16, Precision
from ador.spec.scenario import Scenario
from ador.workload.operators import OpClass

MATRIX_CLASSES = (OpClass.GEMM.value, OpClass.ATTENTION.value)


@dataclass(frozen=True)
class Efficiency:
    area_mm2: np.ndarray  # per chip
    peak_power_w: np.ndarray  # per chip, every unit at peak and no board limit
    power_w: np.ndarray  # average per chip over the scenario (prefill + decode)
    energy_per_token_j: np.ndarray  # system energy / output tokens
    cost_usd: np.ndarray  # per chip (die + HBM + packaging)
    tokens_per_s_per_mm2: np.ndarray  # throughput per chip / area per chip
    tokens_per_j: np.ndarray
    tokens_per_s_per_usd: np.ndarray  # throughput per chip / cost per chip
    energy_per_request_j: np.ndarray  # system energy / requests of the static batch
    power_density_w_per_mm2: np.ndarray  # peak power per mm² of die (thermal density)
    clock_fraction: np.ndarray  # core clock over nominal under the board power limit


@dataclass(frozen=True)
class ChipBreakdown:
    """Area, peak power and cost of every design by component (arrays of shape (n,))."""

    area: AreaBreakdown
    power: PowerBreakdown
    cost: CostBreakdown


def chip_breakdown(*, designs: DesignArrays,
                   area_constants: AreaConstants = AreaConstants(),
                   power_constants: PowerConstants = PowerConstants(),
                   cost_constants: CostConstants = CostConstants()) -> ChipBreakdown:
    """The one place where a design's area, peak power and cost are put together."""
    a = area(designs=designs, c=area_constants)
    p = peak_power(designs=designs, area_mm2=a.total, c=power_constants)
    c = chip_cost(designs=designs, area_mm2=a.total, spare_mm2=a.spares, c=cost_constants)
    return ChipBreakdown(area=a, power=p, cost=c)


def chip_report(hardware: HardwareSpec) -> dict:
    """Area and peak power by component and cost of one design, per chip (mm², W, USD):
    the object of ``ador area --json``, also drawn by the report."""
    b = chip_breakdown(designs=DesignArrays.from_specs([hardware]))

    def one(parts: dict, total: np.ndarray) -> dict:
        return {**{k: float(v[0]) for k, v in parts.items()}, "total": float(total[0])}

    c = b.cost
    return {
        "hardware": hardware.name,
        "process_node_nm": hardware.chip.process_node_nm,
        "area_mm2": one(b.area.components(), b.area.total),
        "peak_power_w": one(b.power.components(), b.power.total),
        "cost_usd": {"die": float(c.die[0]), "hbm": float(c.hbm[0]),
                     "packaging": float(c.packaging[0]), "total": float(c.total[0]),
                     "dies_per_wafer": float(c.dies_per_wafer[0]),
                     "die_yield": float(c.die_yield[0])},
    }


def unit_peaks(hardware: HardwareSpec, precision: Precision | str = "fp16") -> dict:
    """Per-chip peak rates: FLOP/s of each matrix kind at ``precision`` (2 FLOPs per MAC)
    and of the vector unit (lane and special-function pipes in parallel), HBM bytes/s."""
    d = DesignArrays.from_specs([hardware])
    rate = RATE_VS_FP16[Precision(precision)]
    peaks = {k.name: float(2.0 * k.macs_per_cycle(d)[0] * d.clock_hz[0] * rate)
             for k in matrix_kinds() if k.macs_per_cycle(d)[0] > 0}
    peaks[VECTOR_UNIT] = float(d.vu_count[0] * (d.vu_lanes[0] + d.vu_special_per_cycle[0])
                               * d.clock_hz[0])
    return {"name": hardware.name, "flops_per_s": peaks,
            "hbm_bytes_per_s": float(d.hbm_bw[0]),
            "hbm_efficiency": float(d.hbm_eff[0])}


def stage_energy(*, designs: DesignArrays, stage: StageResult, e: Energies,
                 compute_scale: float | np.ndarray = 1.0,
                 sram_scale: float | np.ndarray = 1.0) -> np.ndarray:
    """Dynamic joules of one pass of one tensor-parallel shard (all pipeline stages);
    ``compute_scale`` multiplies matrix and vector energy, ``sram_scale`` the
    global-buffer energy."""
    d = designs
    matrix_flops = sum((f for name, f in stage.op_flops.items()
                        if stage.op_class[name] in MATRIX_CLASSES), 0.0)
    kinds = matrix_kinds()
    work = [stage.utilisation[k.name] * k.macs_per_cycle(d) for k in kinds]
    total = sum(work[1:], work[0])
    first_peak = kinds[0].macs_per_cycle(d)
    share_first = np.where(total > 0, work[0] / np.where(total > 0, total, 1.0),
                           (first_peak > 0).astype(float))
    macs = matrix_flops / 2.0
    per_mac = share_first * e.mac[kinds[0].name]
    rest = 1.0 - share_first
    for k, w in zip(kinds[1:], work[1:], strict=True):
        share_k = rest if k is kinds[-1] else np.where(total > 0, w / np.where(
            total > 0, total, 1.0), 0.0)
        per_mac = per_mac + share_k * e.mac[k.name]
        rest = rest - share_k
    vector_ops = (stage.utilisation[VECTOR_UNIT] * d.vu_count * d.vu_lanes * d.clock_hz
                  * stage.time)
    hbm = sum(stage.op_bytes.values(), np.zeros(d.n))
    sram = sum(stage.op_sram_bytes.values(), np.zeros(d.n))
    comm = float(sum(stage.op_comm_bytes.values()))
    compute = macs * per_mac + np.nan_to_num(vector_ops) * e.vector_op
    return (compute_scale * compute + sram_scale * sram * e.global_byte + hbm * e.hbm_byte
            + comm * e.link_byte)


def efficiency(*, designs: DesignArrays, result: PopulationResult,
               scenario: Scenario | None = None,
               area_constants: AreaConstants = AreaConstants(),
               power_constants: PowerConstants = PowerConstants(),
               cost_constants: CostConstants = CostConstants(),
               board_constants: BoardPowerConstants = BoardPowerConstants(),
               clock_fraction: np.ndarray | float = 1.0) -> Efficiency:
    """Per-chip area, power and cost, and the scenario's energy and efficiency ratios.

    ``scenario`` gives the compute precision and the tensor-parallel degree; without it,
    FP16 and tp = chips (no pipeline parallelism) are assumed. ``clock_fraction`` is the
    core clock the board limit sets, over each design's nominal clock: core energies
    follow its voltage; ``result`` was timed at
    ador.model.board_power.work_clock_fraction of it.
    """
    d = designs
    chip = chip_breakdown(designs=d, area_constants=area_constants,
                          power_constants=power_constants, cost_constants=cost_constants)
    die = chip.area.total
    precision = scenario.compute_precision if scenario else Precision.FP16
    tp = scenario.tp if scenario else result.chips
    e = scaled_energies(designs=d, area_mm2=die, precision=precision,
                        power_constants=power_constants, c=board_constants)
    steps = np.where(result.tpot > 0, (result.e2e - result.ttft) / np.where(
        result.tpot > 0, result.tpot, 1.0), 0.0)
    pc, bc = power_constants, board_constants
    clock = np.broadcast_to(np.asarray(clock_fraction, dtype=np.float64), (d.n,))
    v2 = core_energy_scale(clock, bc)
    dynamic = tp * sum(
        (n * stage_energy(designs=d, stage=stage, e=e, compute_scale=v2, sram_scale=v2)
         for n, stage in ((1.0, result.prefill), (steps, result.decode))), np.zeros(d.n))
    per_chip_w = (idle_power_w(designs=d, area_mm2=die, power_constants=pc, c=bc)
                  + busy_power_w(designs=d, areas=chip.area, power_constants=pc,
                               area_constants=area_constants, c=bc) * clock * v2)
    system_j = dynamic / pc.regulator_efficiency + result.chips * per_chip_w * result.e2e
    tokens = result.throughput * result.e2e
    cost = chip.cost.total
    per_token = system_j / tokens
    requests = scenario.batch if scenario else np.nan
    peak_w = unlimited_peak_power_w(designs=d, areas=chip.area, power_constants=pc,
                                    area_constants=area_constants, c=bc)
    return Efficiency(
        area_mm2=die,
        peak_power_w=peak_w,
        power_w=system_j / (result.chips * result.e2e),
        energy_per_token_j=per_token,
        cost_usd=cost,
        tokens_per_s_per_mm2=result.throughput_per_chip / die,
        tokens_per_j=1.0 / per_token,
        tokens_per_s_per_usd=result.throughput_per_chip / cost,
        energy_per_request_j=system_j / requests,
        power_density_w_per_mm2=peak_w / die,
        clock_fraction=np.array(clock, dtype=np.float64),
    )
