"""The backend-neutral search problem: genomes in, objectives and constraints out.

``SearchProblem.evaluate(X)`` evaluates a whole population (one row per design) in one
vectorized pass per scenario and tensor-parallel degree. Objectives are minimised (maximised
metrics negated); constraints (:mod:`ador.search.constraints`) are ``g <= 0`` when met.

Metric columns per design are those of :mod:`ador.metrics` marked ``searched``, computed
by :func:`ador.evaluate.columns.scenario_columns`; over several scenarios each combines as
its registry entry says (latencies and power: the worst scenario; rates: the geometric mean).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ador.errors import SpecError
from ador.evaluate.columns import scenario_columns
from ador.evaluate.engine import evaluate_population
from ador.metrics import BY_COLUMN, BY_NAME, FITS_MEMORY, SERVING, STATIC, Metric
from ador.model.design import DesignArrays
from ador.search.constraints import (
    PENALTY,
    Constraint,
    Inputs,
    active_constraints,
    constraint_matrix,
)
from ador.search.serving import ServingSetup
from ador.search.space import DesignSpace
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_hardware, load_model
from ador.spec.model import ModelSpec
from ador.spec.problem import CLUSTER_POLICIES, POLICY_FIELDS, ProblemSpec
from ador.spec.space import DEPLOYMENT_FIELDS


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

    def take(self, idx: np.ndarray) -> Evaluation:
        """The rows ``idx`` (repeats allowed)."""
        return Evaluation(F=self.F[idx], G=self.G[idx],
                          metrics={k: v[idx] for k, v in self.metrics.items()},
                          per_scenario={s: {k: v[idx] for k, v in m.items()}
                                        for s, m in self.per_scenario.items()})


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
        self.objective_metrics: list[Metric] = [BY_NAME[o] for o in self.objectives]
        self.constraint_defs: list[Constraint] = active_constraints(spec)
        self.constraints = [c.name for c in self.constraint_defs]
        _refuse_inert_knobs(space, serving=spec.serving is not None)
        self.serving = ServingSetup.load(spec, file=file) if spec.serving is not None else None
        if self.serving is not None:
            check_deployment_knobs(space, spec)
        self._pool_figures: dict[tuple[str, int], dict[str, float]] = {}

    @property
    def n_obj(self) -> int:
        return len(self.objectives)

    @property
    def n_constr(self) -> int:
        return len(self.constraints)

    @property
    def metric_names(self) -> list[str]:
        """Metric columns of every design: the static scenarios', then the serving
        workload's when the problem has one."""
        return [m.column for m in STATIC] + (
            [m.column for m in SERVING] if self.serving is not None else [])

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(self, X: np.ndarray) -> Evaluation:
        """Objectives, constraints and metrics of every genome row of ``X``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        specs, valid = self.space.build(X)
        tp = self.space.tp(X)
        return self.evaluate_specs(specs, tp=tp, valid=valid, serving=self.space.serving(X))

    def evaluate_specs(self, specs: list[HardwareSpec], *, tp: np.ndarray | None = None,
                       valid: np.ndarray | None = None,
                       serving: list[dict] | None = None) -> Evaluation:
        """The same for ready-made specs (baselines, saved designs); ``tp`` overrides each
        scenario's tensor-parallel degree per design; ``serving``: each design's serving
        scheduler settings (the problem's scheduler when None)."""
        n = len(specs)
        valid = np.ones(n, dtype=bool) if valid is None else valid
        designs = DesignArrays.from_specs(specs)
        metrics, per, supported, mem_excess = self._static(designs, tp=tp)
        if self.serving is not None:
            first = self.spec.scenarios[0].tp
            rows = serving or [{}] * n
            metrics.update(self.serving.columns(
                designs=designs, tp=np.full(n, first) if tp is None else np.asarray(tp),
                schedulers=self.serving.schedulers(rows),
                deployments=self.serving.deployments(rows), static=metrics,
                pool_figures=self.pool_figures))
        G = constraint_matrix(self.constraint_defs,
                              Inputs(metrics=metrics, valid=valid, supported=supported,
                                     mem_excess=mem_excess), self.spec)
        F = np.column_stack([m.objective_value(metrics[m.column])
                             for m in self.objective_metrics])
        F = np.where(np.isfinite(F), F, PENALTY)
        F[~valid] = PENALTY
        return Evaluation(F=F, G=G, metrics=metrics,
                          per_scenario=per if len(per) > 1 else {})

    def _static(self, designs: DesignArrays, *, tp: np.ndarray | None):
        """The static scenarios' metrics of ``designs`` (aggregated), per scenario, which
        designs the model supports and the memory excess."""
        n = designs.n
        per: dict[str, dict[str, np.ndarray]] = {}
        static = [m.column for m in STATIC]
        supported = np.ones(n, dtype=bool)
        mem_excess = np.full(n, -np.inf)
        for sc in self.spec.scenarios:
            tps = np.full(n, sc.tp) if tp is None else np.asarray(tp, dtype=int)
            cols = {m: np.full(n, np.nan) for m in static}
            for t in np.unique(tps):
                idx = np.flatnonzero(tps == t)
                sub = designs.take(idx)
                scenario = sc.scenario(tp=int(t))
                res = evaluate_population(designs=sub, model=self.models[sc.model],
                                          scenario=scenario)
                supported[idx] &= res.supported
                mem_excess[idx] = np.maximum(mem_excess[idx],
                                             res.memory.total / res.memory_capacity - 1.0)
                for key, values in scenario_columns(designs=sub, result=res,
                                                    scenario=scenario).items():
                    cols[key][idx] = values
            per[sc.label] = cols
        metrics = _aggregate(per)
        metrics[FITS_MEMORY.column] = (mem_excess <= 0).astype(float)
        return metrics, per, supported, mem_excess

    def pool_figures(self, name: str, tp: int) -> dict[str, float]:
        """Per-chip figures (area, power, cost, ...) of a hardware template's chips at
        tensor-parallel degree ``tp``, as the static scenarios give a design's."""
        key = (name, int(tp))
        if key not in self._pool_figures:
            metrics = self._static(DesignArrays.from_specs([load_hardware(name)]),
                                   tp=np.array([int(tp)]))[0]
            self._pool_figures[key] = {k: float(v[0]) for k, v in metrics.items()}
        return self._pool_figures[key]


# Knob paths no metric depends on: every figure is per chip or per deployment, and a
# deployment uses tp x pp chips of the system, so the system's chip count only decides
# whether the deployment fits (which the base template settles once).
INERT_PATHS = {"system.chips": "every figure is per chip or per deployment, and a "
               "deployment uses tp x pp chips of the system; set system.chips in the base "
               "template to at least the largest tp x pp instead"}


def check_deployment_knobs(space: DesignSpace, spec: ProblemSpec) -> None:
    """A disaggregated or semi-PD deployment (the base's or a ``serving.policy`` knob
    level) runs on ``ador cluster``'s simulator: fp16 and no pipeline stages."""
    levels = [spec.serving.deployment.policy] if spec.serving is not None else []
    for i, fields in space.serving_knobs:
        if "policy" in fields:
            levels += list(space.domains[i].levels or [])
    first = spec.scenarios[0]
    clustered = [p for p in CLUSTER_POLICIES if p in levels]
    if clustered and (first.precision.value != "fp16" or first.pp != 1):
        raise SpecError(f"a {clustered[0]} deployment is simulated at fp16 without pipeline "
                        "stages (ador cluster's pools): give the first scenario precision "
                        "fp16 and pp 1", file=space.source, field="serving.policy",
                        value=first.precision.value)


def _refuse_inert_knobs(space: DesignSpace, *, serving: bool) -> None:
    for i, knob in enumerate(space.spec.knobs):
        if not serving and any(i == j for j, _ in space.serving_knobs):
            raise SpecError(f"knob '{knob.name}' sets a serving setting, which no metric "
                            f"depends on without a serving workload (give serving.workload "
                            f"or --serving NAME)", file=space.source,
                            field=f"knobs[{i}].path", value=knob.paths[0])
        for path in knob.paths:
            if path in INERT_PATHS:
                raise SpecError(f"knob '{knob.name}' cannot change any metric of a search: "
                                f"{INERT_PATHS[path]}", file=space.source,
                                field=f"knobs[{i}].path", value=path)


def design_keys(space: DesignSpace, X: np.ndarray) -> list[str]:
    """One key per genome row, equal for functionally identical designs: the same built
    spec at the same tensor-parallel degree (e.g. any systolic-array shape once the array
    count is 0, or any pool setting of a colocated deployment). Invalid genomes key on their
    genes."""
    specs, valid = space.build(X)
    tp = space.tp(X)
    serving = space.serving(X)
    keys = []
    for r, spec in enumerate(specs):
        if not valid[r]:
            keys.append("invalid:" + X[r].tobytes().hex())
            continue
        body = spec.model_dump_json(exclude={"name", "description"})
        row = serving[r]
        if "policy" in row:  # the other policies' deployment knobs do nothing then
            own = POLICY_FIELDS[row["policy"]]
            row = {k: v for k, v in row.items()
                   if k == "policy" or k in own or k not in DEPLOYMENT_FIELDS}
        if row:
            body += repr(sorted(row.items()))
        # a 128-bit digest keeps the archive's key table small for large sweeps
        digest = hashlib.blake2b(body.encode(), digest_size=16).hexdigest()
        keys.append(f"{'' if tp is None else int(tp[r])}|{digest}")
    return keys


def _aggregate(per: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = list(per.values())
    if len(parts) == 1:
        return dict(parts[0])
    return {key: BY_COLUMN[key].combined(np.vstack([p[key] for p in parts]))
            for key in parts[0]}


__all__ = ["INERT_PATHS", "PENALTY", "Evaluation", "SearchProblem", "design_keys"]
