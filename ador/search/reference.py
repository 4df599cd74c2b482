"""The hypervolume reference of a search problem: fixed before the search starts, so the
progress line, hypervolume.csv and other runs or algorithms on the same problem compare.

Each objective (minimised) is divided by a scale and measured against a reference value:

- a maximised metric (throughput, efficiencies): scale = the best usable baseline's value,
  reference 0 (any design that delivers something counts): the hypervolume is then in
  units of the best baselines, 1.0 for one design that matches them on every objective;
- a minimised metric with a limit in the problem (an SLO or a budget): scale and reference
  = the limit, so that a design at the limit adds nothing;
- a minimised metric without a limit: scale = the best usable baseline's value, reference
  = twice it.

Without a usable baseline the scale is 1 (SI units) and an unlimited minimised metric has
no finite reference: it is left out of the hypervolume (its column is constant).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ador.search.baselines import usable
from ador.search.problem import SearchProblem

UNLIMITED_FACTOR = 2.0


@dataclass(frozen=True)
class Reference:
    """Per objective: the scale objectives are divided by, the reference value (in
    objective units, i.e. negated for maximised metrics) and how they were chosen."""

    scale: np.ndarray
    point: np.ndarray
    basis: tuple[str, ...]

    def as_dict(self, names: list[str]) -> dict:
        return {n: {"scale": float(s), "reference": float(p), "basis": b}
                for n, s, p, b in zip(names, self.scale, self.point, self.basis, strict=True)}


def reference(problem: SearchProblem, baselines: pd.DataFrame) -> Reference:
    """The problem's hypervolume reference, from its limits and its usable baselines."""
    base = usable(baselines)
    scale, point, basis = [], [], []
    for m in problem.objective_metrics:
        best = None
        if m.column in base.columns and len(base):
            vals = base[m.column].to_numpy(dtype=float)
            vals = vals[np.isfinite(vals) & (vals > 0)]
            if vals.size:
                best = float(vals.max() if m.higher_is_better else vals.min())
        limit = None
        if m.limit is not None:
            section, key = m.limit.split(".")
            limit = getattr(getattr(problem.spec, section), key)
        if m.higher_is_better:
            scale.append(best or 1.0)
            point.append(0.0)
            basis.append("best usable baseline" if best else "SI unit (no usable baseline)")
        elif limit:
            scale.append(float(limit))
            point.append(float(limit))
            basis.append(f"limit {m.limit}")
        elif best:
            scale.append(best)
            point.append(UNLIMITED_FACTOR * best)
            basis.append(f"{UNLIMITED_FACTOR:g} x best usable baseline")
        else:
            scale.append(1.0)
            point.append(np.inf)
            basis.append("left out (no limit and no usable baseline)")
    return Reference(scale=np.array(scale), point=np.array(point), basis=tuple(basis))


__all__ = ["UNLIMITED_FACTOR", "Reference", "reference"]
