"""Sanity checks of the baselines the serving-system reproductions compare against.

1. DistServe's motivating case (OSDI'24, Fig. 1): LLaMA-13B class model (llama2-13b shapes)
   on A100-80GB, input 512 / output 64 tokens, Poisson arrivals, SLO P90 TTFT 0.4 s and P90
   TPOT 0.04 s (goodput: >= 90% of requests meet both). Paper: colocated 1.6 req/s on one
   GPU; 2 prefill + 1 decode GPUs 10 req/s = 3.3 req/s per GPU (2.1x per GPU).
2. Sarathi-Serve's capacity gain over vLLM (OSDI'24): Mistral-7B on one A100, capacity =
   highest rate with P99 time-between-tokens within the SLO and median queueing under 2 s.
   Paper: up to 2.6x. Lengths: the arXiv summarization trace (../shared/workloads), which
   the paper also uses. SLOs used here (strict 0.1 s with 512-token chunks, relaxed 0.5 s
   with 2048) follow the paper's strict/relaxed pattern; their exact values are not
   confirmed from the paper text available here.

    python scripts/reproduce_baselines.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ador.calibration.data import shared_dir
from ador.serve import RequestSet, SchedulerConfig, find_capacity
from ador.serve.goodput import goodput_of
from ador.serve.policies import simulate_cluster
from ador.spec.cluster import ClusterSpec, PoolSpec
from ador.spec.io import load_hardware, load_model

SHARED = shared_dir() / "workloads"


def poisson_fixed(n: int, prompt: int, output: int, seed: int = 0) -> RequestSet:
    arr = np.cumsum(np.random.default_rng(seed).exponential(1.0, n))
    return RequestSet(arrival_s=arr - arr[0], prompt_tokens=np.full(n, prompt),
                      output_tokens=np.full(n, output))


NOTES = """
Where ador differs and why:
- Absolute rates are 2-3x the paper's on both sides: ador's A100 step model (operator-level
  calibration) gives llama2-13b a {prefill:.0f} ms 512-token prefill and {d1:.0f} ms / {d32:.0f} ms
  decode steps at batch 1 / 32, close to the HBM roofline (26 GB of weights / 2.04 TB/s =
  12.7 ms); DistServe's 2023 prototype ran slower kernels. The per-GPU gain is the figure to
  compare.
- The gain (about 1.7x against 2.1x) is smaller: with ador's fast decode steps a 66 ms
  prefill interrupting decodes leaves more room under the 40 ms TPOT average than the
  prototype's slower steps did, so the colocated baseline is relatively stronger; the
  direction (2P1D better per GPU) is reproduced.
- Sarathi-Serve: with the strict SLO the gain exceeds the paper's "up to 2.6x": every
  arXiv prefill (2,588 tokens mean) stalls vLLM's decodes for longer than 0.1 s, so vLLM's
  P99 TBT fails at low load in ador; with the relaxed SLO the stalls fit in 0.5 s and the
  gain shrinks. The direction is reproduced in both.
"""


def step_times() -> dict:
    from ador.serve.api import default_step_model
    st = default_step_model(hardware=load_hardware("a100-sxm-80gb"),
                            model=load_model("llama2-13b"))
    return {"prefill": 1e3 * st.time(tokens=512, sampled=1, chunks=[(512, 0)]),
            "d1": 1e3 * st.time(tokens=1, sampled=1, decode_n=1, decode_ctx_sum=540),
            "d32": 1e3 * st.time(tokens=32, sampled=32, decode_n=32,
                                 decode_ctx_sum=32 * 540)}


def distserve(n: int) -> list:
    m = load_model("llama2-13b")
    rq = poisson_fixed(n, 512, 64)
    slo = {"ttft_slo_s": 0.4, "tpot_slo_s": 0.04}
    rows = []
    specs = {
        "colocated 1 GPU (vLLM)": ClusterSpec(pool=PoolSpec()),
        "2P1D (DistServe)": ClusterSpec(policy="disaggregated", prefill=PoolSpec(count=2),
                                        decode=PoolSpec()),
    }
    got = {}
    for label, spec in specs.items():
        g = goodput_of(lambda r, s=spec: simulate_cluster(cluster=s, model=m, requests=r, **slo),
                       requests=rq, **slo)
        got[label] = g
        rows.append((label, g.rate_per_s, g.per_chip))
    ratio = got["2P1D (DistServe)"].per_chip / max(got["colocated 1 GPU (vLLM)"].per_chip, 1e-9)
    print("\nDistServe motivating case: llama2-13b, A100-80GB, 512/64 tokens, "
          "SLO P90 TTFT 0.4 s / TPOT 0.04 s")
    print(f"{'configuration':28s} {'ador req/s':>11s} {'ador /GPU':>10s} {'paper req/s':>12s} "
          f"{'paper /GPU':>11s}")
    paper = {"colocated 1 GPU (vLLM)": (1.6, 1.6), "2P1D (DistServe)": (10.0, 3.3)}
    for label, rate, per in rows:
        pr, pp = paper[label]
        print(f"{label:28s} {rate:11.2f} {per:10.2f} {pr:12.1f} {pp:11.1f}")
    print(f"{'per-GPU gain 2P1D/colocated':28s} {ratio:22.2f}x {'':12s} {2.1:10.1f}x")
    return rows


def sarathi(n: int) -> None:
    path = SHARED / "arxiv_summarization.csv"
    if not path.exists():
        print(f"skipping Sarathi-Serve: {path} not found", file=sys.stderr)
        return
    data = np.loadtxt(path, delimiter=",", skiprows=1, max_rows=n, usecols=(0, 1))
    p, o = data[:, 0].astype(np.int64), np.maximum(data[:, 1].astype(np.int64), 1)
    arr = np.cumsum(np.random.default_rng(1).exponential(1.0, n))
    rq = RequestSet(arrival_s=arr - arr[0], prompt_tokens=p, output_tokens=o)
    hw, m = load_hardware("a100-sxm-80gb"), load_model("mistral-7b")
    print("\nSarathi-Serve capacity: mistral-7b, A100-80GB, arXiv summarization lengths")
    print(f"{'SLO (P99 TBT)':16s} {'vLLM req/s':>11s} {'Sarathi req/s':>14s} {'gain':>6s} "
          f"{'paper gain':>11s}")
    for label, tbt, chunk in (("strict 0.1 s", 0.1, 512), ("relaxed 0.5 s", 0.5, 2048)):
        v = find_capacity(requests=rq, tbt_p99_slo_s=tbt, hardware=hw, model=m,
                          scheduler=SchedulerConfig(name="vllm"))
        s = find_capacity(requests=rq, tbt_p99_slo_s=tbt, hardware=hw, model=m,
                          scheduler=SchedulerConfig(name="sarathi", chunk_tokens=chunk))
        gain = s.rate_per_s / v.rate_per_s if v.rate_per_s > 0 else float("inf")
        print(f"{label:16s} {v.rate_per_s:11.2f} {s.rate_per_s:14.2f} {gain:5.2f}x "
              f"{'up to 2.6x':>11s}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    distserve(args.requests)
    sarathi(args.requests)
    print(NOTES.format(**step_times()))
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
