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
decode steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.evaluate.results import PopulationResult, StageResult
from ador.model.area import AreaConstants, area
from ador.model.cost import CostConstants, chip_cost
from ador.model.design import DesignArrays
from ador.model.board_power import (
    BoardPowerConstants,
    busy_power_w,
    core_energy_scale,
    idle_power_w,
    scaled_energies,
    unlimited_peak_power_w,
)
from ador.model.power import Energies, PowerConstants
from ador.spec.precision import Precision
from ador.spec.scenario import Scenario

MATRIX_CLASSES = ("gemm", "attention")


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
    clock_fraction: np.ndarray  # core clock over nominal under the board power limit


def stage_energy(*, designs: DesignArrays, stage: StageResult, e: Energies,
                 compute_scale: float | np.ndarray = 1.0,
                 sram_scale: float | np.ndarray = 1.0) -> np.ndarray:
    """Dynamic joules of one pass of one tensor-parallel shard (all pipeline stages);
    ``compute_scale`` multiplies matrix and vector energy, ``sram_scale`` the
    global-buffer energy."""
    d = designs
    matrix_flops = sum((f for name, f in stage.op_flops.items()
                        if stage.op_class[name] in MATRIX_CLASSES), 0.0)
    sa_peak = d.sa_count * d.sa_rows * d.sa_cols
    mt_peak = d.mt_count * d.mt_lanes * d.mt_tree_width
    sa_work = stage.utilisation["systolic_array"] * sa_peak
    mt_work = stage.utilisation["mac_tree"] * mt_peak
    total = sa_work + mt_work
    share_sa = np.where(total > 0, sa_work / np.where(total > 0, total, 1.0),
                        (sa_peak > 0).astype(float))
    macs = matrix_flops / 2.0
    vector_ops = stage.utilisation["vector_unit"] * d.vu_count * d.vu_lanes * d.clock_hz * stage.time
    hbm = sum(stage.op_bytes.values(), np.zeros(d.n))
    sram = sum(stage.op_sram_bytes.values(), np.zeros(d.n))
    comm = float(sum(stage.op_comm_bytes.values()))
    compute = (macs * (share_sa * e.sa_mac + (1.0 - share_sa) * e.mt_mac)
               + np.nan_to_num(vector_ops) * e.vector_op)
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
    core clock ``result`` was evaluated at, over each design's nominal clock.
    """
    d = designs
    a = area(designs=d, c=area_constants)
    die = a.total
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
                  + busy_power_w(designs=d, areas=a, power_constants=pc,
                               area_constants=area_constants, c=bc) * clock * v2)
    system_j = dynamic / pc.regulator_efficiency + result.chips * per_chip_w * result.e2e
    tokens = result.throughput * result.e2e
    cost = chip_cost(designs=d, area_mm2=die, spare_mm2=a.spares, c=cost_constants).total
    per_token = system_j / tokens
    return Efficiency(
        area_mm2=die,
        peak_power_w=unlimited_peak_power_w(designs=d, areas=a, power_constants=pc,
                                            area_constants=area_constants, c=bc),
        power_w=system_j / (result.chips * result.e2e),
        energy_per_token_j=per_token,
        cost_usd=cost,
        tokens_per_s_per_mm2=result.throughput_per_chip / die,
        tokens_per_j=1.0 / per_token,
        tokens_per_s_per_usd=result.throughput_per_chip / cost,
        clock_fraction=np.array(clock, dtype=np.float64),
    )
