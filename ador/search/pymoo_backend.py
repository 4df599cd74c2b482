"""pymoo backend: NSGA-II (NSGA-III for three or more objectives) over the genome.

Each generation is evaluated in one vectorized call. Discrete genes are real numbers rounded
to level indices by a repair step, so that SBX crossover and polynomial mutation work on the
ordered levels; duplicates are eliminated on the repaired genome. ``seed`` makes runs
repeatable.
"""

from __future__ import annotations

from collections.abc import Callable

from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.moo.nsga3 import NSGA3
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.sampling.rnd import FloatRandomSampling
from pymoo.optimize import minimize
from pymoo.util.ref_dirs import get_reference_directions

from ador.errors import AdorError
from ador.search.archive import Archive


class _Round(Repair):
    def __init__(self, space) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem, X, **kwargs):
        return self.space.repair(X)


class _Problem(Problem):
    def __init__(self, archive: Archive, on_batch: Callable[[Archive], None] | None) -> None:
        p = archive.problem
        super().__init__(n_var=p.space.n_var, n_obj=p.n_obj, n_ieq_constr=p.n_constr,
                         xl=p.space.xl, xu=p.space.xu)
        self.archive = archive
        self.on_batch = on_batch
        self.batches = 0

    def _evaluate(self, X, out, *args, **kwargs):
        ev = self.archive.evaluate(X, batch=self.batches)
        self.batches += 1
        out["F"] = ev.F
        out["G"] = ev.G
        if self.on_batch is not None:
            self.on_batch(self.archive)


def algorithm_name(requested: str, n_obj: int) -> str:
    if requested == "auto":
        return "nsga3" if n_obj >= 3 else "nsga2"
    if requested not in {"nsga2", "nsga3"}:
        raise AdorError("the pymoo backend runs nsga2 or nsga3", field="search.algorithm",
                        value=requested)
    return requested


def run_pymoo(archive: Archive, *, pop_size: int, generations: int, seed: int,
              algorithm: str = "auto",
              on_batch: Callable[[Archive], None] | None = None) -> str:
    """Run the search, adding every evaluated design to ``archive``; returns the algorithm
    used."""
    space = archive.problem.space
    problem = _Problem(archive, on_batch)
    name = algorithm_name(algorithm, problem.n_obj)
    ops = {"sampling": FloatRandomSampling(), "crossover": SBX(prob=0.9, eta=15),
           "mutation": PM(eta=20), "repair": _Round(space), "eliminate_duplicates": True}
    if name == "nsga3":
        ref_dirs = get_reference_directions("energy", problem.n_obj, pop_size, seed=1)
        algo = NSGA3(ref_dirs=ref_dirs, pop_size=pop_size, **ops)
    else:
        algo = NSGA2(pop_size=pop_size, **ops)
    minimize(problem, algo, ("n_gen", generations), seed=seed, verbose=False)
    return name
