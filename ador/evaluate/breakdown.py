"""One design's evaluation as a frozen breakdown, and its stable JSON form.

The JSON object holds every metric of :mod:`ador.metrics` that a breakdown has, under its
column name, plus ``memory_bytes`` and ``breakdown``; these keys are a contract: later
versions add keys, never rename or remove them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ador.evaluate.efficiency import Efficiency, efficiency
from ador.evaluate.engine import check_supported, evaluate_population
from ador.evaluate.results import BOUND_NAMES, PopulationResult
from ador.metrics import METRICS
from ador.model.board_power import clocked_designs, throttle_clock, work_clock_fraction
from ador.model.design import DesignArrays
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario


@dataclass(frozen=True)
class OperatorRow:
    stage: str
    name: str
    op_class: str
    time_s: float
    flops: float
    hbm_bytes: float
    bound: str


@dataclass(frozen=True)
class StageBreakdown:
    time_s: float
    flops: float
    class_times_s: dict[str, float]
    utilisation: dict[str, float]


@dataclass(frozen=True)
class Breakdown:
    hardware: str
    model: str
    scenario: Scenario
    ttft_s: float
    tpot_s: float
    e2e_s: float
    throughput_tok_s: float
    throughput_per_chip_tok_s: float
    chips: int
    weights_bytes: float
    kv_cache_bytes: float
    activation_bytes: float
    memory_capacity_bytes: float
    fits_memory: bool
    prefill: StageBreakdown
    decode: StageBreakdown
    operators: tuple[OperatorRow, ...]
    # Area, power and cost per chip and the scenario's energy (ador.evaluate.efficiency).
    area_mm2: float | None = None
    peak_power_w: float | None = None
    power_w: float | None = None
    energy_per_token_j: float | None = None
    cost_usd: float | None = None
    tokens_per_s_per_mm2: float | None = None
    tokens_per_j: float | None = None
    tokens_per_s_per_usd: float | None = None
    energy_per_request_j: float | None = None
    power_density_w_per_mm2: float | None = None
    # Core clock over nominal that the board power limit leaves (1.0: not limited).
    clock_fraction: float | None = None

    @property
    def memory_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes


def evaluate(*, hardware: HardwareSpec, model: ModelSpec, scenario: Scenario) -> Breakdown:
    """Evaluate one design; raises InfeasibleError when it cannot run the scenario."""
    check_supported(hardware=hardware, scenario=scenario)
    designs = DesignArrays.from_specs([hardware])
    pop, eff = limited_evaluation(designs=designs, model=model, scenario=scenario,
                                  limit_w=hardware.chip.board_power_limit_w)
    return breakdown_of(pop, 0, hardware=hardware.name, model=model.name, scenario=scenario,
                        eff=eff)


def limited_evaluation(*, designs: DesignArrays, model: ModelSpec, scenario: Scenario,
                       limit_w: float | None) -> tuple[PopulationResult, Efficiency]:
    """Evaluation at the highest clock whose average power fits the board limit; the work
    is timed at ador.model.board_power.work_clock_fraction of that clock."""
    def at(s: np.ndarray) -> tuple[PopulationResult, Efficiency]:
        d = clocked_designs(designs, work_clock_fraction(s, designs.matrix_eff))
        pop = evaluate_population(designs=d, model=model, scenario=scenario)
        return pop, efficiency(designs=designs, result=pop, scenario=scenario,
                               clock_fraction=s)

    s = np.ones(designs.n)
    if limit_w is None:
        return at(s)
    s = throttle_clock(power_at=lambda x: at(x)[1].power_w,
                       limit_w=np.full(designs.n, float(limit_w)))
    pop, eff = at(s)
    # A chip with a limit never draws more: its peak power, and the heat flux its cooling
    # must remove, are the limit's when its unlimited peak lies above it.
    peak = np.minimum(eff.peak_power_w, float(limit_w))
    return pop, replace(eff, peak_power_w=peak, power_density_w_per_mm2=peak / eff.area_mm2)


def breakdown_of(pop: PopulationResult, i: int, *, hardware: str, model: str,
                 scenario: Scenario, eff: Efficiency | None = None) -> Breakdown:
    def stage(s) -> StageBreakdown:
        return StageBreakdown(
            time_s=float(s.time[i]), flops=s.flops,
            class_times_s={k: float(v[i]) for k, v in s.class_times.items()},
            utilisation={k: float(v[i]) for k, v in s.utilisation.items()})

    rows = []
    for name_stage, s in (("prefill", pop.prefill), ("decode", pop.decode)):
        for name, t in s.op_times.items():
            rows.append(OperatorRow(stage=name_stage, name=name, op_class=s.op_class[name],
                                    time_s=float(t[i]), flops=s.op_flops[name],
                                    hbm_bytes=float(s.op_bytes[name][i]),
                                    bound=BOUND_NAMES[int(s.op_bound[name][i])]))
    return Breakdown(
        hardware=hardware, model=model, scenario=scenario,
        ttft_s=float(pop.ttft[i]), tpot_s=float(pop.tpot[i]), e2e_s=float(pop.e2e[i]),
        throughput_tok_s=float(pop.throughput[i]),
        throughput_per_chip_tok_s=float(pop.throughput_per_chip[i]), chips=pop.chips,
        weights_bytes=pop.memory.weights, kv_cache_bytes=pop.memory.kv_cache,
        activation_bytes=pop.memory.activations,
        memory_capacity_bytes=float(pop.memory_capacity[i]),
        fits_memory=bool(pop.fits_memory[i]),
        prefill=stage(pop.prefill), decode=stage(pop.decode), operators=tuple(rows),
        **({} if eff is None else {k: float(v[i]) for k, v in vars(eff).items()}),
    )


def to_json(b: Breakdown) -> dict:
    """The stable JSON object of ``ador evaluate --json``."""
    def stage(s: StageBreakdown) -> dict:
        return {"time_s": s.time_s, "flops": s.flops, "time_by_class_s": s.class_times_s,
                "utilisation": s.utilisation}

    metrics = {m.column: getattr(b, m.column) for m in METRICS if hasattr(b, m.column)}
    return {
        "hardware": b.hardware,
        "model": b.model,
        "scenario": b.scenario.model_dump(mode="json"),
        **metrics,
        "memory_bytes": b.memory_bytes,
        "memory_capacity_bytes": b.memory_capacity_bytes,
        "clock_fraction": b.clock_fraction,
        "breakdown": {
            "memory": {"weights_bytes": b.weights_bytes, "kv_cache_bytes": b.kv_cache_bytes,
                       "activation_bytes": b.activation_bytes},
            "prefill": stage(b.prefill),
            "decode": stage(b.decode),
            "operators": [
                {"stage": r.stage, "name": r.name, "class": r.op_class, "time_s": r.time_s,
                 "flops": r.flops, "hbm_bytes": r.hbm_bytes, "bound": r.bound}
                for r in b.operators
            ],
        },
    }
