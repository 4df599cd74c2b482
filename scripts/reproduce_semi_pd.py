"""semi-PD (arXiv 2504.19867) against its baselines, as close to the paper's setting as
ador gets.

Setting: Llama3-8B on one A100-80GB; Poisson arrivals; sustainable rate = highest rate per
GPU with >= 90% of requests meeting both the TTFT and the TPOT SLO. Lengths: ShareGPT is not
available offline; in its place the Azure conversation trace's lengths with prompts scaled
to ShareGPT's mean of 251 tokens (output lengths as in the trace), and for LongBench the
arXiv summarization trace (long prompts, mean 2,588). SLOs: the paper's (ShareGPT tight
0.3 s / 0.15 s and loose 0.4 s / 0.2 s; LongBench tight 2.25 s / 0.13 s, loose 3.0 s / 0.18 s).
Baselines: vLLM-S (chunked prefill, 1024-token budget), vLLM-D (prefill priority), DistServe
1P1D (2 GPUs; rate per GPU), semi-PD with fixed (100, 100) shares. semi-PD itself starts
at the released defaults (80, 100) with the SLO-aware controller on.

Paper: semi-PD sustains on average 1.55x / 1.72x / 1.62x / 1.11x the rate of vLLM-S /
vLLM-D / DistServe / fixed (100, 100).

    python scripts/reproduce_semi_pd.py [--requests 2000] [--window 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ador.serve import RequestSet, SchedulerConfig
from ador.serve.goodput import goodput_of
from ador.serve.policies import simulate_cluster
from ador.spec.cluster import ClusterSpec, PoolSpec, SemiPdSpec
from ador.spec.io import load_model

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "workloads"
SHAREGPT_MEAN_INPUT = 251  # semi-PD paper, ShareGPT average input tokens
PAPER = {"vLLM-S": 1.55, "vLLM-D": 1.72, "DistServe 1P1D": 1.62, "semi-PD (100,100)": 1.11}


NOTES = """
How ador models semi-PD and where it may differ:
- Each instance runs a prefill and a decode event loop side by side on one KV pool; a
  worker's share x of the compute units divides prefill time by x and decode time by
  bandwidth_share(y) (Adrenaline's 20% SMs -> 60% HBM bandwidth); with x + y > 1 the
  prefill gets min(x, 1 - 0.26 y) (decode keeps under 26% of an A100's compute busy).
  Both workers are charged as always busy, which is conservative when one idles.
- By default the controller moves shares between runs at one rate (steady state, no switch
  delay); ``--window N`` runs it online, every N requests, with the run replayed until its
  decisions settle (slightly lower gains: early windows run on the start shares). ador's
  fixed (100,100) and the controlled semi-PD
  start from shares that contention makes equal, and the controller's gain comes from
  moving compute from the decode worker (which needs little) to the prefill worker.
- The ShareGPT stand-in (conversation trace, prompts scaled to 251 tokens) has longer
  outputs than ShareGPT; the LongBench stand-in (arXiv summarization) has shorter prompts
  than LongBench.
"""


def workloads(n: int) -> dict:
    out = {}
    rng = np.random.default_rng(0)
    conv = SHARED / "splitwise_conv.csv"
    if conv.exists():
        d = np.loadtxt(conv, delimiter=",", skiprows=1, max_rows=n)
        p = np.maximum(1, np.round(d[:, 1] * SHAREGPT_MEAN_INPUT / d[:, 1].mean()))
        out["ShareGPT-like (conv trace)"] = (p.astype(np.int64), d[:, 2].astype(np.int64),
                                             {"tight": (0.3, 0.15), "loose": (0.4, 0.2)})
    arx = SHARED / "arxiv_summarization.csv"
    if arx.exists():
        d = np.loadtxt(arx, delimiter=",", skiprows=1, max_rows=n, usecols=(0, 1))
        out["LongBench-like (arXiv)"] = (d[:, 0].astype(np.int64),
                                         np.maximum(d[:, 1], 1).astype(np.int64),
                                         {"tight": (2.25, 0.13), "loose": (3.0, 0.18)})
    if not out:
        print("no traces found under ../shared/workloads; nothing to run", file=sys.stderr)
    for k, (p, o, s) in out.items():
        arr = np.cumsum(rng.exponential(1.0, p.shape[0]))
        out[k] = (RequestSet(arrival_s=arr - arr[0], prompt_tokens=p, output_tokens=o), s)
    return out


def systems(window: int | None) -> dict:
    pool = PoolSpec()
    return {
        "vLLM-S": ClusterSpec(pool=PoolSpec(scheduler=SchedulerConfig(
            name="sarathi", chunk_tokens=1024))),
        "vLLM-D": ClusterSpec(pool=pool),
        "DistServe 1P1D": ClusterSpec(policy="disaggregated", prefill=pool, decode=pool),
        "semi-PD (100,100)": ClusterSpec(policy="semi_pd", pool=pool, semi_pd=SemiPdSpec(
            prefill_share=1.0, decode_share=1.0)),
        "semi-PD": ClusterSpec(policy="semi_pd", pool=pool, semi_pd=SemiPdSpec(
            controller=True, window_requests=window)),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--window", type=int, default=None,
                    help="run the share controller online, deciding every N requests "
                         "(default: between runs, steady state)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    m = load_model("llama3-8b")
    ratios: dict = {k: [] for k in PAPER}
    print("semi-PD reproduction: llama3-8b, A100-80GB; sustainable rate per GPU "
          "(>= 90% attainment of both SLOs)")
    for wname, (rq, slos) in workloads(args.requests).items():
        for level, (ttft, tpot) in slos.items():
            rates = {}
            for name, spec in systems(args.window).items():
                g = goodput_of(lambda r, s=spec, a=ttft, b=tpot: simulate_cluster(
                    cluster=s, model=m, requests=r, ttft_slo_s=a, tpot_slo_s=b),
                    requests=rq, ttft_slo_s=ttft, tpot_slo_s=tpot)
                rates[name] = g.per_chip
            print(f"\n{wname}, {level} SLO (TTFT {ttft} s, TPOT {tpot} s): req/s per GPU")
            print("  " + "  ".join(f"{k}={v:.2f}" for k, v in rates.items()))
            for k in PAPER:
                ratios[k].append(rates["semi-PD"] / rates[k] if rates[k] > 0 else np.nan)
    print(f"\n{'semi-PD rate over':22s} {'ador (mean)':>12s} {'paper (mean)':>13s}")
    for k, paper in PAPER.items():
        print(f"{k:22s} {np.nanmean(ratios[k]):11.2f}x {paper:12.2f}x")
    print(NOTES)
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
