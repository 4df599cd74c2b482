"""Designs per second of the analytical serving estimate on a population.

Random genomes of the default design space (``ador-hetero``, its own TP knob), llama3-8b,
request lengths of the Azure conversation trace (../shared/workloads/splitwise_conv.csv,
first ``--requests``; a seeded lognormal sample when the trace is absent), its SLOs
(TTFT 2 s, TPOT 100 ms), one ``estimate_serving`` call per scheduler. Reports process CPU
seconds, best of ``--repeat`` runs (the machine may be shared; wall time is noisier).

    python scripts/bench_estimate.py --designs 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ador.calibration.data import shared_dir
from ador.model.design import DesignArrays
from ador.search.space import load_design_space
from ador.serve.estimate import estimate_serving
from ador.serve.workloads import read_trace
from ador.spec.io import load_model
from ador.spec.scheduler import SchedulerConfig

TRACE = shared_dir() / "workloads" / "splitwise_conv.csv"  # ../shared or $ADOR_SHARED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trace", type=Path, default=TRACE)
    args = ap.parse_args()
    space = load_design_space("ador-hetero")
    rng = np.random.default_rng(0)
    X = space.repair(rng.uniform(space.xl, space.xu, size=(args.designs, space.n_var)))
    t0 = time.process_time()
    specs, _ = space.build(X)
    designs = DesignArrays.from_specs(specs)
    tp = space.tp(X)
    print(f"{args.designs} designs built in {time.process_time() - t0:.2f} s CPU "
          f"(not counted below); tp values {sorted(set(tp.tolist()))}")
    if args.trace.is_file():
        trace = read_trace(args.trace)
        prompt = trace.prompt_tokens[:args.requests]
        output = trace.output_tokens[:args.requests]
    else:
        prompt = np.clip(rng.lognormal(np.log(1000), 0.8, args.requests), 1, 8000).round()
        output = np.clip(rng.lognormal(np.log(250), 0.7, args.requests), 1, 1000).round()
    model = load_model("llama3-8b")
    for name in ("vllm", "sarathi", "trtllm"):
        best = np.inf
        for _ in range(args.repeat):
            t0 = time.process_time()
            est = estimate_serving(designs=designs, model=model, tp=tp, prompt_tokens=prompt,
                                   output_tokens=output, scheduler=SchedulerConfig(name=name),
                                   rate_per_s=4.0, ttft_slo_s=2.0, tpot_slo_s=0.1)
            best = min(best, time.process_time() - t0)
        print(f"{name:8s} {best:.3f} s CPU for {args.designs} designs: "
              f"{args.designs / best:,.0f} designs/s "
              f"(goodput > 0 for {int(np.sum(est.goodput_per_s > 0))})")


if __name__ == "__main__":
    main()
