"""The backend-neutral search problem: genomes in, objectives and constraints out.

``SearchProblem.evaluate(X)`` evaluates a whole population (one row per design) in one
vectorized pass per scenario and tensor-parallel degree. Objectives are minimised (maximised
metrics negated); constraints are ``g <= 0`` when feasible, written as relative excess over
the limit (``tpot / slo - 1``), so that their sizes compare across constraints.

Metrics per design (SI): ``ttft_s``, ``tpot_s``, ``throughput_per_chip_tok_s`` and, from the
efficiency model (:mod:`ador.evaluate.efficiency`), ``area_mm2``, ``power_w``, ``cost_usd``,
``tokens_per_s_per_mm2``, ``tokens_per_j``, ``tokens_per_s_per_usd``. Over several scenarios
latencies and power take the worst scenario and rates the geometric mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ador.evaluate.efficiency import efficiency
from ador.evaluate.engine import evaluate_population
from ador.model.design import DesignArrays
from ador.search.space import DesignSpace
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_model
from ador.spec.model import ModelSpec
from ador.spec.problem import MAXIMISED, ProblemSpec

# objective name -> (metric column, maximised)
OBJECTIVE_METRIC = {
    "throughput_per_chip": "throughput_per_chip_tok_s",
    "tokens_per_s_per_mm2": "tokens_per_s_per_mm2",
    "tokens_per_j": "tokens_per_j",
    "tokens_per_s_per_usd": "tokens_per_s_per_usd",
    "ttft": "ttft_s",
    "tpot": "tpot_s",
    "area": "area_mm2",
    "power": "power_w",
}
EFFICIENCY_METRICS = ("area_mm2", "power_w", "cost_usd", "tokens_per_s_per_mm2",
                      "tokens_per_j", "tokens_per_s_per_usd")
PERFORMANCE_METRICS = ("ttft_s", "tpot_s", "throughput_per_chip_tok_s")
WORST = {"ttft_s", "tpot_s", "power_w"}  # aggregated over scenarios by the max
SAME = {"area_mm2", "cost_usd"}  # scenario-independent
PENALTY = 1e30


@dataclass
class Evaluation:
    F: np.ndarray  # (n, n_obj) minimised
    G: np.ndarray  # (n, n_constr), <= 0 feasible
    metrics: dict[str, np.ndarray]  # aggregated metric columns, (n,)
    per_scenario: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def feasible(self) -> np.ndarray:
        return np.all(self.G <= 0, axis=1)

    @property
    def n(self) -> int:
        return int(self.F.shape[0])


class SearchProblem:
    """Objectives and constraints of ``spec`` over the designs of ``space``."""

    def __init__(self, spec: ProblemSpec, space: DesignSpace, *, file: str = "problem") -> None:
        self.spec = spec
        self.space = space
        self.file = file
        self.models: dict[str, ModelSpec] = {}
        for sc in spec.scenarios:
            if sc.model not in self.models:
                self.models[sc.model] = load_model(sc.model)
        self.objectives = list(spec.objectives)
        self.constraints = self._constraint_names()

    @property
    def n_obj(self) -> int:
        return len(self.objectives)

    @property
    def n_constr(self) -> int:
        return len(self.constraints)

    @property
    def metric_names(self) -> list[str]:
        return list(PERFORMANCE_METRICS) + list(EFFICIENCY_METRICS) + ["hbm_bw_bytes_per_s", "p2p_bw_bytes_per_s", "tp", "chips",
                        "fits_memory"]

    def _constraint_names(self) -> list[str]:
        s, b = self.spec.slo, self.spec.budgets
        names = ["valid", "supported"]
        if b.memory_fit:
            names.append("memory")
        for name, limit in (("ttft", s.ttft_s), ("tpot", s.tpot_s), ("area", b.area_mm2),
                            ("hbm_bw", b.hbm_bandwidth_bytes_per_s), ("power", b.power_w),
                            ("p2p_bw", b.p2p_bandwidth_bytes_per_s), ("cost", b.cost_usd)):
            if limit is not None:
                names.append(name)
        return names

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(self, X: np.ndarray) -> Evaluation:
        """Objectives, constraints and metrics of every genome row of ``X``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        specs, valid = self.space.build(X)
        tp = self.space.tp(X)
        return self.evaluate_specs(specs, tp=tp, valid=valid)

    def evaluate_specs(self, specs: list[HardwareSpec], *, tp: np.ndarray | None = None,
                       valid: np.ndarray | None = None) -> Evaluation:
        """The same for ready-made specs (baselines, saved designs); ``tp`` overrides each
        scenario's tensor-parallel degree per design."""
        n = len(specs)
        valid = np.ones(n, dtype=bool) if valid is None else valid
        designs = DesignArrays.from_specs(specs)
        per: dict[str, dict[str, np.ndarray]] = {}
        supported = np.ones(n, dtype=bool)
        mem_excess = np.full(n, -np.inf)
        for sc in self.spec.scenarios:
            tps = np.full(n, sc.tp) if tp is None else np.asarray(tp, dtype=int)
            cols = {m: np.full(n, np.nan) for m in self.metric_names}
            for t in np.unique(tps):
                idx = np.flatnonzero(tps == t)
                sub = designs.take(idx)
                res = evaluate_population(designs=sub, model=self.models[sc.model],
                                          scenario=sc.scenario(tp=int(t)))
                cols["ttft_s"][idx] = res.ttft
                cols["tpot_s"][idx] = res.tpot
                cols["throughput_per_chip_tok_s"][idx] = res.throughput_per_chip
                cols["fits_memory"][idx] = res.fits_memory
                cols["tp"][idx] = t
                supported[idx] &= res.supported
                mem_excess[idx] = np.maximum(mem_excess[idx],
                                             res.memory.total / res.memory_capacity - 1.0)
                eff = efficiency(designs=sub, result=res, scenario=sc.scenario(tp=int(t)))
                for m in EFFICIENCY_METRICS:
                    cols[m][idx] = np.asarray(getattr(eff, m), dtype=float)
            cols["hbm_bw_bytes_per_s"] = designs.hbm_bw.copy()
            cols["p2p_bw_bytes_per_s"] = designs.p2p_links * designs.p2p_bw
            cols["chips"] = designs.chips.copy()
            per[sc.label] = cols
        metrics = _aggregate(per)
        metrics["fits_memory"] = (mem_excess <= 0).astype(float)
        G = self._constraints(metrics, valid=valid, supported=supported, mem_excess=mem_excess)
        F = np.column_stack([
            -metrics[OBJECTIVE_METRIC[o]] if o in MAXIMISED else metrics[OBJECTIVE_METRIC[o]]
            for o in self.objectives])
        F = np.where(np.isfinite(F), F, PENALTY)
        F[~valid] = PENALTY
        return Evaluation(F=F, G=G, metrics=metrics,
                          per_scenario=per if len(per) > 1 else {})

    def _constraints(self, m: dict[str, np.ndarray], *, valid, supported,
                     mem_excess) -> np.ndarray:
        s, b = self.spec.slo, self.spec.budgets
        cols = []
        for name in self.constraints:
            if name == "valid":
                g = np.where(valid, -1.0, 1.0)
            elif name == "supported":
                g = np.where(supported, -1.0, 1.0)
            elif name == "memory":
                g = mem_excess
            else:
                metric, limit = {
                    "ttft": ("ttft_s", s.ttft_s), "tpot": ("tpot_s", s.tpot_s),
                    "area": ("area_mm2", b.area_mm2),
                    "hbm_bw": ("hbm_bw_bytes_per_s", b.hbm_bandwidth_bytes_per_s),
                    "power": ("power_w", b.power_w),
                    "p2p_bw": ("p2p_bw_bytes_per_s", b.p2p_bandwidth_bytes_per_s),
                    "cost": ("cost_usd", b.cost_usd)}[name]
                g = m[metric] / limit - 1.0
            cols.append(np.where(np.isfinite(g), g, PENALTY))
        G = np.column_stack(cols)
        G[~valid, 1:] = np.maximum(G[~valid, 1:], 0.0)
        return G


def _aggregate(per: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = list(per.values())
    if len(parts) == 1:
        return dict(parts[0])
    out = {}
    for key in parts[0]:
        stack = np.vstack([p[key] for p in parts])
        if key in WORST or key in SAME or key in {"tp", "chips", "hbm_bw_bytes_per_s",
                                                  "p2p_bw_bytes_per_s", "fits_memory"}:
            out[key] = stack.max(axis=0) if key != "fits_memory" else stack.min(axis=0)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[key] = np.exp(np.mean(np.log(stack), axis=0))
    return out
