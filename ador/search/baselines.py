"""GPU baselines deployed the way a user would deploy them, and compared only when usable.

Each baseline runs the problem's scenarios at the smallest tensor-parallel degree (powers of
two up to its system's chips, times the scenario's pipeline stages) at which it supports the
scenarios' precisions, the model fits in its HBM and the SLOs hold. A baseline with no such
deployment is kept as a row that says why (``reason``) and is left out of every ratio.
Design budgets (area, bandwidths, power) describe what may be built; a usable baseline that
breaks one is still compared, and ``over_budget`` names the budgets it breaks so that every
table can mark it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.metrics import FITS_MEMORY, INTEGER_COLUMNS, RATIOS
from ador.search.constraints import Constraint
from ador.search.problem import SearchProblem
from ador.spec.hardware import HardwareSpec
from ador.spec.io import load_hardware
from ador.units import format_quantity

# columns every baselines frame has, before the metric columns
HEAD = ["baseline", "hardware", "usable", "reason", "over_budget", "meets_slo", "feasible"]


def load_baseline(name: str) -> HardwareSpec:
    try:
        return load_hardware(name)
    except AdorError as err:
        raise AdorError(err.rule, file=err.file, field="baselines", value=name) from None


def baseline_tps(problem: SearchProblem, hw: HardwareSpec) -> list[int]:
    """Tensor-parallel degrees a baseline is tried at, smallest first: powers of two whose
    deployment (tp x the scenarios' largest pp) the baseline system holds."""
    pp = max(sc.pp for sc in problem.spec.scenarios)
    tps, t = [], 1
    while t * pp <= hw.system.chips:
        tps.append(t)
        t *= 2
    return tps or [1]


def _unsupported(problem: SearchProblem, hw: HardwareSpec) -> str:
    """Why the baseline cannot run a scenario's precisions ('' when it can)."""
    have = set(hw.chip.precisions)
    for sc in problem.spec.scenarios:
        for p in {sc.precision, sc.kv_precision or sc.precision}:
            if p not in have:
                return f"no {p.value} support"
    return ""


def deployment(*, problem: SearchProblem, hw: HardwareSpec, tps: list[int], G: np.ndarray,
               fits: np.ndarray) -> tuple[int, str]:
    """The row (index into ``tps``) the baseline is reported at and why it is not usable
    ('' when usable): the smallest tp meeting every constraint but the design budgets."""
    defs = problem.constraint_defs
    service = [j for j, c in enumerate(defs) if not c.design_budget]
    ok = np.all(G[:, service] <= 0, axis=1)
    if ok.any():
        return int(np.flatnonzero(ok)[0]), ""
    unsupported = _unsupported(problem, hw)
    if unsupported:
        return 0, unsupported
    if not fits.any():
        cap = format_quantity(hw.chip.hbm.capacity_bytes, "B")
        return len(tps) - 1, f"does not fit in {cap} at tp<={tps[-1]}"
    # it fits somewhere but misses an SLO at every tp: report the tp closest to meeting them
    fitting = np.flatnonzero(fits)
    worst = G[np.ix_(fitting, np.asarray(service, dtype=int))].max(axis=1)
    i = int(fitting[np.argmin(worst)])
    c = defs[service[int(np.argmax(G[i, service]))]]
    return i, f"misses the SLO at every tp<={tps[-1]} ({_miss(c, G[i], problem)} at tp {tps[i]})"


def _miss(c: Constraint, g: np.ndarray, problem: SearchProblem) -> str:
    """'ttft 646 ms > 500 ms': a limit constraint's value against its limit, briefly."""
    metric, limit = c.metric, c.limit(problem.spec)
    j = problem.constraint_defs.index(c)
    if metric is None or not isinstance(limit, float):
        return c.name
    unit = "" if metric.symbol else f" {metric.unit}"
    return (f"{metric.name} {metric.text((g[j] + 1.0) * limit)}{unit} > "
            f"{metric.text(limit)}{unit}")


def budget_breaks(problem: SearchProblem, g: np.ndarray) -> list[str]:
    """The design budgets a baseline with constraint values ``g`` breaks, in words."""
    return [_miss(c, g, problem) for j, c in enumerate(problem.constraint_defs)
            if c.design_budget and g[j] > 0]


def evaluate_baselines(problem: SearchProblem,
                       hardware: list[HardwareSpec] | None = None) -> pd.DataFrame:
    """One row per baseline: its deployment, whether it is usable and why not, the budgets
    it breaks, its metrics, constraint values and per-scenario metrics."""
    rows = []
    if hardware is None:
        hardware = [load_baseline(name) for name in problem.spec.baselines]
    for name, hw in zip(problem.spec.baselines, hardware, strict=True):
        tps = baseline_tps(problem, hw)
        ev = problem.evaluate_specs([hw] * len(tps), tp=np.array(tps))
        fits = ev.metrics[FITS_MEMORY.column] > 0
        i, reason = deployment(problem=problem, hw=hw, tps=tps, G=ev.G, fits=fits)
        over = budget_breaks(problem, ev.G[i])
        row: dict[str, object] = {
            "baseline": name, "hardware": hw.name, "usable": int(not reason),
            "reason": reason, "over_budget": "; ".join(over), "meets_slo": int(not reason),
            "feasible": int(ev.feasible[i])}
        # a deployment that cannot run (precision missing, model too large) has no figures
        # worth printing: its metrics are left empty; one that misses an SLO keeps them
        runs = not reason or reason.startswith("misses")
        row.update({k: float(v[i]) if runs or k in INTEGER_COLUMNS else float("nan")
                    for k, v in ev.metrics.items()})
        for k in INTEGER_COLUMNS:
            row[k] = int(row[k])  # type: ignore[call-overload]
        row.update({f"g_{c}": float(ev.G[i, j]) for j, c in enumerate(problem.constraints)})
        for sc, metrics in ev.per_scenario.items():
            row.update({f"{sc}:{k}": float(v[i]) if runs else float("nan")
                        for k, v in metrics.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else [*HEAD, *INTEGER_COLUMNS])


def usable(baselines: pd.DataFrame) -> pd.DataFrame:
    """The baselines that ratios may use."""
    if "usable" not in baselines.columns:
        return baselines
    return baselines[baselines["usable"].astype(bool)]


def comparison_frame(pareto: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """Ratios of every Pareto design to every usable baseline (> 1: the design is better)."""
    rows = []
    for _, d in pareto.iterrows():
        for _, b in usable(baselines).iterrows():
            row = {"id": d["id"], "baseline": b["baseline"]}
            for m in RATIOS:
                if m.column in d and m.column in b:
                    row[str(m.ratio)] = m.ratio_value(d[m.column], b[m.column])
            rows.append(row)
    return pd.DataFrame(rows, columns=["id", "baseline"] + [
        m.ratio for m in RATIOS if m.column in pareto.columns and m.column in baselines.columns])


__all__ = ["baseline_tps", "budget_breaks", "comparison_frame", "deployment", "evaluate_baselines",
           "load_baseline", "usable"]
