"""Speed of the serving simulator: 10,000 requests near capacity, and a goodput search.

Workloads: the Azure conversation trace's lengths (../shared/workloads/splitwise_conv.csv,
first 10,000 rows, arrivals rescaled) and 10,000 fixed 512/512 requests, Poisson arrivals at
90 % of the max-load request throughput (found first, untimed). Timed: building the step
model plus one simulation; then a goodput bisection (about 10 simulations). Figures are
process CPU seconds, best of ``--repeat`` runs (the machine may be shared; wall time is
printed beside them).

    python scripts/bench_serve.py [--hardware a100-sxm-80gb] [--model llama3-8b]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ador.serve import RequestSet, SchedulerConfig, build_step_model, find_goodput, simulate
from ador.serve.api import STEP_MAX_BATCH, STEP_MAX_TOKENS
from ador.spec.io import load_hardware, load_model

TRACE = Path(__file__).resolve().parents[1] / ".." / "shared" / "workloads" / "splitwise_conv.csv"
N = 10_000


def conv_lengths(n: int) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(TRACE, delimiter=",", skiprows=1, max_rows=n)
    return data[:, 1].astype(np.int64), data[:, 2].astype(np.int64)


def poisson(n: int, rate: float, p, o, seed: int = 0) -> RequestSet:
    arr = np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, n))
    return RequestSet(arrival_s=arr - arr[0], prompt_tokens=p, output_tokens=o)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hardware", default="a100-sxm-80gb")
    ap.add_argument("--model", default="llama3-8b")
    ap.add_argument("--scheduler", default="vllm")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    hw, m = load_hardware(args.hardware), load_model(args.model)
    cfg = SchedulerConfig(name=args.scheduler)
    if not TRACE.exists():
        print(f"skipping the trace workload: {TRACE} not found", file=sys.stderr)
    workloads = {"fixed 512/512": (np.full(N, 512), np.full(N, 512))}
    if TRACE.exists():
        workloads = {"conv trace": conv_lengths(N), **workloads}
    def timed(fn):
        best_cpu = best_wall = float("inf")
        for _ in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            out = fn()
            best_cpu = min(best_cpu, time.process_time() - c0)
            best_wall = min(best_wall, time.perf_counter() - w0)
        return out, best_cpu, best_wall

    step, build_s, build_w = timed(lambda: build_step_model(
        hardware=hw, model=m, max_tokens=STEP_MAX_TOKENS, max_batch=STEP_MAX_BATCH))
    print(f"step model build: {build_s:.3f} s CPU ({build_w:.3f} s wall)")
    for name, (p, o) in workloads.items():
        maxload = simulate(hardware=hw, model=m, scheduler=cfg, step_model=step,
                           requests=RequestSet(arrival_s=np.zeros(N), prompt_tokens=p,
                                               output_tokens=o))
        rate = 0.9 * maxload.summary["request_throughput_per_s"]
        reqs = poisson(N, rate, p, o)
        res, sim_s, sim_w = timed(lambda: simulate(hardware=hw, model=m, scheduler=cfg,
                                                   step_model=step, requests=reqs))
        s = res.summary
        print(f"{name}: {N} requests at {rate:.2f} req/s (90 % of max load): simulate "
              f"{sim_s:.3f} s CPU ({sim_w:.3f} s wall), with step model "
              f"{sim_s + build_s:.3f} s CPU; "
              f"{int(s['iterations'])} iterations, TTFT p50 {s['ttft_p50_s']:.3f} s, "
              f"TPOT p50 {1e3 * s['tpot_p50_s']:.1f} ms, "
              f"{s['output_throughput_tok_per_s']:.0f} output tok/s")
        c0, w0 = time.process_time(), time.perf_counter()
        g = find_goodput(requests=reqs, ttft_slo_s=2.0, tpot_slo_s=0.1, hardware=hw, model=m,
                         scheduler=cfg, step_model=step)
        print(f"  goodput (TTFT 2 s, TPOT 100 ms, 90 %): {g.rate_per_s:.2f} req/s, "
              f"{g.simulations} simulations in {time.process_time() - c0:.2f} s CPU "
              f"({time.perf_counter() - w0:.2f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
