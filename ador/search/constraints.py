"""The constraints of a search problem, defined once and evaluated alike for searched designs
and GPU baselines.

Each constraint gives ``g <= 0`` when met. Limits (SLOs and per-chip budgets) are written as
the relative excess over the limit, ``value / limit - 1``, so that their sizes compare across
constraints; ``memory`` is the relative excess of the footprint over HBM capacity in the
worst scenario; ``valid`` and ``supported`` are flags (-1 met, +1 violated). A constraint
is active when its problem field is set. Design budgets (area, bandwidths, power, cost,
power density) describe what may be built and are not applied to the baselines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ador.metrics import BY_NAME, METRICS, Metric
from ador.spec.problem import ProblemSpec

PENALTY = 1e30


@dataclass(frozen=True)
class Inputs:
    """What constraints read: aggregated metric columns and per-design facts, shape (n,)."""

    metrics: dict[str, np.ndarray]
    valid: np.ndarray  # the genome builds a valid spec
    supported: np.ndarray  # precisions supported and enough chips, in every scenario
    mem_excess: np.ndarray  # max over scenarios of footprint / capacity - 1


@dataclass(frozen=True)
class Constraint:
    name: str  # g_<name> column; for limits, the name of the metric limited
    field: str  # the problem field that sets it, e.g. "slo.tpot_s"
    rule: str  # the rule, for people
    design_budget: bool = False
    flag: Callable[[Inputs], np.ndarray] | None = None  # True where met
    excess: Callable[[Inputs], np.ndarray] | None = None  # g directly

    @property
    def metric(self) -> Metric | None:
        return BY_NAME.get(self.name) if self.flag is None and self.excess is None else None

    def limit(self, spec: ProblemSpec) -> float | bool | None:
        section, key = self.field.split(".")
        return getattr(getattr(spec, section), key) if section != "space" else None

    def active(self, spec: ProblemSpec) -> bool:
        return self.field == "space.valid" or self.field == "space.supported" or bool(
            self.limit(spec))

    def g(self, inputs: Inputs, spec: ProblemSpec) -> np.ndarray:
        if self.flag is not None:
            g = np.where(self.flag(inputs), -1.0, 1.0)
        elif self.excess is not None:
            g = self.excess(inputs)
        else:
            metric = self.metric
            assert metric is not None
            g = inputs.metrics[metric.column] / self.limit(spec) - 1.0
        return np.where(np.isfinite(g), g, PENALTY)

    def reason(self, g: float, spec: ProblemSpec) -> str:
        """Why a design with value ``g`` misses this constraint, in words."""
        metric, limit = self.metric, self.limit(spec)
        if metric is not None and isinstance(limit, float):
            value = (g + 1.0) * limit
            unit = "" if metric.symbol or not metric.unit else f" {metric.unit}"
            return (f"{metric.title} {metric.text(value)}{unit} exceeds the limit "
                    f"{metric.text(limit)}{unit} by {g:.1%} ({self.rule})")
        return self.rule


def _limit(m: Metric) -> Constraint:
    assert m.limit is not None
    section = m.limit.split(".")[0]
    where = " in every scenario" if m.combine == "worst" else ""
    return Constraint(m.name, m.limit, f"{m.title} <= {'SLO' if section == 'slo' else 'budget'}"
                      f"{where}", design_budget=section == "budgets")


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint("valid", "space.valid", "the knob values must give a valid hardware spec",
               flag=lambda x: x.valid),
    Constraint("supported", "space.supported", "the design must support the scenario's "
               "precisions and have tp x pp chips", flag=lambda x: x.supported),
    Constraint("memory", "budgets.memory_fit", "weights + KV cache + activations <= HBM "
               "capacity in every scenario", excess=lambda x: x.mem_excess),
    *(_limit(m) for m in METRICS if m.limit),
)


def active_constraints(spec: ProblemSpec) -> list[Constraint]:
    """The problem's constraints, in table order."""
    return [c for c in CONSTRAINTS if c.active(spec)]


def constraint_matrix(constraints: list[Constraint], inputs: Inputs,
                      spec: ProblemSpec) -> np.ndarray:
    """G of shape (n, len(constraints)); invalid genomes violate nothing but ``valid``."""
    G = np.column_stack([c.g(inputs, spec) for c in constraints])
    G[~inputs.valid, 1:] = np.maximum(G[~inputs.valid, 1:], 0.0)
    return G


__all__ = ["CONSTRAINTS", "PENALTY", "Constraint", "Inputs", "active_constraints",
           "constraint_matrix"]
