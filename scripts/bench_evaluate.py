#!/usr/bin/env python
"""Benchmark of the vectorized evaluator: designs per second on a fixed scenario.

Builds N designs around a hardware template (default ador-hetero) by varying systolic-array
and MAC-tree counts, SRAM capacity, HBM stacks and clock directly in a DesignArrays
population, then times evaluate_population (median of several repeats, after one untimed
call that builds the scenario's operators once per process). Each part is timed
separately: loading the specs, building the population, evaluating it, and (for comparison)
building designs through pydantic specs and DesignArrays.from_specs.

The search evaluates smaller populations per call: a generation of NSGA-II/TPE
(``pop_size``, default 100) or a chunk of an exhaustive sweep (4096); the designs per second
at those sizes, where the fixed cost per call weighs more, are reported as well.

    .venv/bin/python scripts/bench_evaluate.py            # 10,000 designs
    .venv/bin/python scripts/bench_evaluate.py --profile  # plus a cProfile of one evaluation
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import inspect
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ador.evaluate import evaluate_population
from ador.model.design import DesignArrays
from ador.search.sweep import run_sweep
from ador.spec.io import load_hardware, load_model
from ador.spec.problem import SearchSettings
from ador.spec.scenario import Scenario


def build_population(base: DesignArrays, n: int, seed: int) -> DesignArrays:
    """``n`` variants of the single design ``base`` with random knobs."""
    rng = np.random.default_rng(seed)
    d = base.take(np.zeros(n, dtype=int))
    stacks = rng.integers(2, 9, n).astype(np.float64)
    per_stack_bw = base.hbm_bw[0] / base.hbm_stacks[0]
    per_stack_bytes = base.hbm_bytes[0] / base.hbm_stacks[0]
    has_sa = base.sa_count[0] > 0
    has_mt = base.mt_count[0] > 0
    return dataclasses.replace(
        d,
        sa_count=(rng.choice([2, 4, 8, 12, 16], n) if has_sa else d.sa_count).astype(np.float64),
        mt_count=(rng.choice([8, 16, 32, 64, 128], n) if has_mt else d.mt_count).astype(
            np.float64),
        sram_bytes=rng.choice([16, 32, 64, 128, 256], n).astype(np.float64) * 2**20,
        hbm_stacks=stacks,
        hbm_bw=stacks * per_stack_bw,
        hbm_bytes=stacks * per_stack_bytes,
        clock_hz=rng.uniform(0.8e9, 1.6e9, n),
    )


def build_from_specs(spec, n: int, seed: int) -> DesignArrays:
    """The same kind of population through pydantic specs (the slow, validated path)."""
    rng = np.random.default_rng(seed)
    specs = []
    for _ in range(n):
        chip = spec.chip
        hbm = chip.hbm.model_copy(update={"stacks": int(rng.integers(2, 9))})
        sram = chip.sram.model_copy(update={"capacity_bytes": float(rng.choice([16, 64, 256])
                                                                     * 2**20)})
        chip = chip.model_copy(update={"hbm": hbm, "sram": sram,
                                       "clock_hz": float(rng.uniform(0.8e9, 1.6e9))})
        specs.append(spec.model_copy(update={"chip": chip}))
    return DesignArrays.from_specs(specs)


def search_sizes() -> list[int]:
    """Designs per evaluation call in the search: the default NSGA-II/TPE population and the
    exhaustive sweep's chunk (read from their definitions)."""
    pop = SearchSettings.model_fields["pop_size"].default
    chunk = inspect.signature(run_sweep).parameters["chunk"].default
    return sorted({int(pop), int(chunk)})


def timed(fn, repeats: int, cpu: list[float] | None = None
          ) -> tuple[float, list[float], object]:
    """Median wall seconds of ``fn`` over ``repeats`` calls, every wall time and the last
    result; ``cpu``, when given, receives each call's CPU seconds (this process, all
    threads), which other load on a shared machine disturbs far less than wall time."""
    times, out = [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return statistics.median(times), times, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="designs (default 10000)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hardware", default="ador-hetero")
    ap.add_argument("--model", default="llama3-8b")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--input-len", type=int, default=1024)
    ap.add_argument("--output-len", type=int, default=256)
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--spec-designs", type=int, default=500,
                    help="designs to build through pydantic specs, for comparison (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-search-sizes", dest="search_sizes", action="store_false",
                    help="skip the timings at the search's population sizes")
    ap.add_argument("--profile", action="store_true", help="cProfile one evaluation")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    spec, model = load_hardware(args.hardware), load_model(args.model)
    base = DesignArrays.from_specs([spec])
    t_load = time.perf_counter() - t0
    scenario = Scenario(batch=args.batch, input_len=args.input_len, output_len=args.output_len,
                        tp=args.tp)

    t_build, _, designs = timed(lambda: build_population(base, args.n, args.seed), args.repeats)

    def run():
        return evaluate_population(designs=designs, model=model, scenario=scenario)

    run()  # warm up imports and caches
    eval_cpu: list[float] = []
    t_eval, eval_times, result = timed(run, args.repeats, eval_cpu)
    c_eval = statistics.median(eval_cpu)
    assert result.n == args.n
    finite = bool(np.all(np.isfinite(result.ttft)) and np.all(np.isfinite(result.tpot)))

    searched = {}
    for size in search_sizes() if args.search_sizes else []:
        pop = build_population(base, size, args.seed)
        evaluate_population(designs=pop, model=model, scenario=scenario)
        reps = max(args.repeats, min(200, 20_000 // size))
        t_size, _, _ = timed(lambda pop=pop: evaluate_population(
            designs=pop, model=model, scenario=scenario), reps)
        searched[size] = {"evaluate_median_s": t_size, "designs_per_s": size / t_size,
                          "repeats": reps}

    t_specs = None
    if args.spec_designs > 0:
        t_specs, _, _ = timed(lambda: build_from_specs(spec, args.spec_designs, args.seed), 1)

    report = {
        "designs": args.n,
        "hardware": spec.name,
        "model": model.name,
        "scenario": scenario.model_dump(mode="json"),
        "repeats": args.repeats,
        "load_specs_s": t_load,
        "build_population_s": t_build,
        "evaluate_median_s": t_eval,
        "evaluate_all_s": eval_times,
        "designs_per_s": args.n / t_eval,
        "evaluate_cpu_median_s": c_eval,
        "designs_per_cpu_s": args.n / c_eval,
        "load_average_1min": os.getloadavg()[0],
        "search_populations": {str(k): v for k, v in searched.items()},
        "spec_path_s_per_design": (t_specs / args.spec_designs) if t_specs else None,
        "all_finite": finite,
        "fits_memory_fraction": float(np.mean(result.fits_memory)),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.n:,} designs of {spec.name} variants, {model.name}, batch {args.batch}, "
              f"input {args.input_len}, output {args.output_len}, tp {args.tp}")
        print(f"  load specs           {t_load * 1e3:9.1f} ms")
        print(f"  build DesignArrays   {t_build * 1e3:9.1f} ms (median of {args.repeats})")
        print(f"  evaluate_population  {t_eval * 1e3:9.1f} ms (median of {args.repeats}; "
              f"min {min(eval_times) * 1e3:.1f}, max {max(eval_times) * 1e3:.1f})")
        print(f"  throughput           {args.n / t_eval:12,.0f} designs/s")
        print(f"  CPU time             {c_eval * 1e3:9.1f} ms (median; "
              f"{args.n / c_eval:,.0f} designs per CPU second; "
              f"load average {os.getloadavg()[0]:.2f})")
        for size, r in searched.items():
            print(f"  {size:>6,} designs       {r['designs_per_s']:12,.0f} designs/s "
                  f"(search population; median of {r['repeats']})")
        if t_specs:
            print(f"  via pydantic specs   {t_specs / args.spec_designs * 1e6:9.1f} us per design "
                  f"to build ({args.spec_designs} built)")
        print(f"  all results finite: {finite}; fit in HBM: "
              f"{float(np.mean(result.fits_memory)):.0%}")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue(), file=sys.stderr if args.json else sys.stdout)
    return 0 if finite else 1


if __name__ == "__main__":
    sys.exit(main())
