"""Every design a search evaluated, in evaluation order, with its genome and results."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ador.search.hypervolume import bounds, fixed_hypervolume, hypervolume, pareto_mask
from ador.search.problem import Evaluation, SearchProblem, design_keys

if TYPE_CHECKING:
    from ador.search.reference import Reference


class Archive:
    def __init__(self, problem: SearchProblem) -> None:
        self.problem = problem
        self._X: list[np.ndarray] = []
        self._batch: list[np.ndarray] = []
        self._evals: list[Evaluation] = []
        self._live_bounds: tuple[np.ndarray, np.ndarray] | None = None
        self.reference: Reference | None = None  # the problem's hypervolume reference
        self._cache: dict | None = None
        self._seen: dict[str, tuple[int, int]] = {}  # design key -> (distinct batch, row)
        self._distinct: list[Evaluation] = []

    def add(self, X: np.ndarray, ev: Evaluation, *, batch: int) -> None:
        self._X.append(np.asarray(X, dtype=float))
        self._batch.append(np.full(ev.n, batch, dtype=int))
        self._evals.append(ev)
        self._cache = None

    def evaluate(self, X: np.ndarray, *, batch: int) -> Evaluation:
        """Evaluate a batch, each functionally distinct design once: designs seen before
        (in this batch or an earlier one) reuse that evaluation."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        keys = design_keys(self.problem.space, X)
        new: dict[str, int] = {}
        for r, k in enumerate(keys):
            if k not in self._seen and k not in new:
                new[k] = r
        if new:
            rows = np.fromiter(new.values(), dtype=int, count=len(new))
            fresh = self.problem.evaluate(X[rows])
            self._distinct.append(fresh)
            for i, k in enumerate(new):
                self._seen[k] = (len(self._distinct) - 1, i)
        src = np.array([self._seen[k][0] for k in keys])
        row = np.array([self._seen[k][1] for k in keys])
        order = np.argsort(src, kind="stable")  # gather per source batch, then unsort
        parts = [self._distinct[s].take(row[order][src[order] == s]) for s in np.unique(src)]
        ev = _concat(parts).take(np.argsort(order, kind="stable"))
        self.add(X, ev, batch=batch)
        return ev

    @property
    def distinct(self) -> int:
        """Functionally distinct designs evaluated."""
        return len(self._seen)

    def _join(self) -> dict:
        if self._cache is None:
            p = self.problem
            evs = self._evals
            self._cache = {
                "X": np.vstack(self._X) if evs else np.zeros((0, p.space.n_var)),
                "batch": np.concatenate(self._batch) if evs else np.zeros(0, dtype=int),
                "F": np.vstack([e.F for e in evs]) if evs else np.zeros((0, p.n_obj)),
                "G": np.vstack([e.G for e in evs]) if evs else np.zeros((0, p.n_constr)),
                "metrics": {k: np.concatenate([e.metrics[k] for e in evs])
                            for k in (evs[0].metrics if evs else {})},
                "per_scenario": {
                    s: {k: np.concatenate([e.per_scenario[s][k] for e in evs])
                        for k in evs[0].per_scenario[s]}
                    for s in (evs[0].per_scenario if evs else {})},
            }
        return self._cache

    @property
    def n(self) -> int:
        return sum(e.n for e in self._evals)

    @property
    def X(self) -> np.ndarray:
        return self._join()["X"]

    @property
    def batch(self) -> np.ndarray:
        return self._join()["batch"]

    @property
    def F(self) -> np.ndarray:
        return self._join()["F"]

    @property
    def G(self) -> np.ndarray:
        return self._join()["G"]

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        return self._join()["metrics"]

    @property
    def per_scenario(self) -> dict[str, dict[str, np.ndarray]]:
        return self._join()["per_scenario"]

    @property
    def feasible(self) -> np.ndarray:
        return np.all(self.G <= 0, axis=1)

    def pareto(self) -> np.ndarray:
        """Indices of the feasible non-dominated designs, one per distinct objective vector
        (the first evaluated), ordered by the first objective."""
        feas = np.flatnonzero(self.feasible)
        if feas.size == 0:
            return feas
        F = self.F[feas]
        front = feas[pareto_mask(F)]
        _, first = np.unique(self.F[front], axis=0, return_index=True)
        front = front[np.sort(first)]
        return front[np.argsort(self.F[front, 0], kind="stable")]

    def live_hypervolume(self) -> float:
        """Hypervolume of the feasible front against the problem's fixed reference (the
        same numbers as hypervolume.csv), or against bounds fixed at the first feasible
        batch when no reference was set."""
        feas = self.feasible
        if not feas.any():
            return 0.0
        if self.reference is not None:
            return fixed_hypervolume(self.F[feas], scale=self.reference.scale,
                                     point=self.reference.point)
        if self._live_bounds is None:
            self._live_bounds = bounds(self.F[feas])
        ideal, nadir = self._live_bounds
        return hypervolume(self.F[feas], ideal=ideal, nadir=nadir)

    def best(self) -> tuple[str, float] | None:
        """The best feasible value of the first objective, as (metric, value)."""
        feas = self.feasible
        if not feas.any():
            return None
        column = self.problem.objective_metrics[0].column
        i = np.flatnonzero(feas)[np.argmin(self.F[feas, 0])]
        return column, float(self.metrics[column][i])


def _concat(parts: list[Evaluation]) -> Evaluation:
    first = parts[0]
    return Evaluation(
        F=np.vstack([e.F for e in parts]), G=np.vstack([e.G for e in parts]),
        metrics={k: np.concatenate([e.metrics[k] for e in parts]) for k in first.metrics},
        per_scenario={s: {k: np.concatenate([e.per_scenario[s][k] for e in parts])
                          for k in m} for s, m in first.per_scenario.items()})
