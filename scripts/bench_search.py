"""Benchmarks of the design-space search.

1. NSGA-II against the exhaustive front of a space small enough to enumerate (ador-small,
   14,688 designs): hypervolume fraction reached and share of the evaluations used.
2. A 100 x 100 NSGA-II run (10^4 evaluations) on llama3-8b over the default ador-hetero
   space with the default problem of `ador explore`: wall time.
3. Optionally (--explore) the wall time of a default `ador explore` in a fresh process.

Usage: python scripts/bench_search.py [--seeds 5] [--explore]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ador.search.archive import Archive
from ador.search.hypervolume import bounds, hypervolume
from ador.search.problem import SearchProblem
from ador.search.pymoo_backend import run_pymoo
from ador.search.space import load_design_space
from ador.search.sweep import run_sweep
from ador.spec.problem import Budgets, ProblemScenario, ProblemSpec, Slo

ROOT = Path(__file__).resolve().parents[1]


def hv_benchmark(seeds: int, pop_size: int, generations: int) -> None:
    space = load_design_space("ador-small")
    spec = ProblemSpec(space="ador-small",
                       scenarios=[ProblemScenario(batch=32, input_len=128, output_len=128)],
                       slo=Slo(), budgets=Budgets(),
                       objectives=["throughput_per_chip", "area"])
    problem = SearchProblem(spec, space)
    t0 = time.perf_counter()
    exhaustive = Archive(problem)
    run_sweep(exhaustive)
    t_sweep = time.perf_counter() - t0
    feas = exhaustive.feasible
    ideal, nadir = bounds(exhaustive.F[feas])
    hv_true = hypervolume(exhaustive.F[feas], ideal=ideal, nadir=nadir)
    print(f"[1] exhaustive: {exhaustive.n} designs ({int(feas.sum())} feasible, "
          f"{len(exhaustive.pareto())} on the front), HV {hv_true:.4f}, {t_sweep:.1f} s")
    fractions = []
    for seed in range(seeds):
        a = Archive(problem)
        run_pymoo(a, pop_size=pop_size, generations=generations, seed=seed)
        hv = hypervolume(a.F[a.feasible], ideal=ideal, nadir=nadir)
        fractions.append(hv / hv_true)
        print(f"    NSGA-II seed {seed}: {a.n} evaluations "
              f"({a.n / exhaustive.n:.1%} of the space), HV {hv:.4f} = "
              f"{hv / hv_true:.2%} of the exhaustive front")
    print(f"    min / mean HV fraction over {seeds} seeds: {min(fractions):.2%} / "
          f"{np.mean(fractions):.2%}")


def speed_benchmark() -> None:
    space = load_design_space("ador-hetero")
    problem = SearchProblem(ProblemSpec(), space)
    a = Archive(problem)
    t0 = time.perf_counter()
    run_pymoo(a, pop_size=100, generations=100, seed=0)
    dt = time.perf_counter() - t0
    print(f"[2] NSGA-II 100 x 100 on llama3-8b (ador-hetero, default problem): "
          f"{a.n} evaluations in {dt:.1f} s ({a.n / dt:,.0f} designs/s), "
          f"{int(a.feasible.sum())} feasible, {len(a.pareto())} Pareto designs")
    X = a.X[:10_000]
    t0 = time.perf_counter()
    space._cache.clear()
    space.build(X)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    problem.evaluate(X)
    t_eval = time.perf_counter() - t0
    print(f"    of which: building {len(X)} validated specs {t_build:.1f} s; "
          f"a full problem evaluation of them (cached specs) {t_eval:.1f} s")


def explore_benchmark() -> None:
    exe = Path(sys.executable).parent / "ador"
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        r = subprocess.run([str(exe), "explore", "--out-dir", out, "--no-progress"],
                           cwd=ROOT, capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t0
    print(f"[3] `ador explore` (defaults) in a fresh process: {dt:.1f} s, exit {r.returncode}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--pop-size", type=int, default=40)
    ap.add_argument("--generations", type=int, default=18)
    ap.add_argument("--explore", action="store_true", help="also time `ador explore`")
    args = ap.parse_args()
    hv_benchmark(args.seeds, args.pop_size, args.generations)
    speed_benchmark()
    if args.explore:
        explore_benchmark()


if __name__ == "__main__":
    main()
