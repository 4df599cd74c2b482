"""Adrenaline (arXiv 2503.20552): attention offload from PD-disaggregated decode instances
to the prefill instances, against vLLM-style PD disaggregation 1P1D.

Setting: Llama-2-7B and Llama-2-13B (MHA, large KV per token) on A100-80GB, one prefill and
one decode instance in one node (KV and q/k/v/output over NVLink). Offered load: Poisson
arrivals at 60% of the prefill instance's speed, above what the decode instance sustains, so
its KV capacity binds. Lengths:
ShareGPT is not available offline: the Azure conversation trace's lengths stand in for it
(prompts scaled to ShareGPT's mean of 251 tokens);
OpenThoughts (reasoning, long outputs) is stood in for by the same prompts with outputs
drawn from a lognormal of mean 1,500 tokens, clipped to the 4,096-token context. Adrenaline:
offload ratio 0.7 (the paper's best is about 0.7-0.8) capped by the offload bound, executor
share picked by the controller from the TTFT SLO (0.5 s here). Throughput: output tokens per
second over the run.

Paper: output throughput up to 1.68x (1.47-1.68x per workload); decode batch and compute use
up to 1.67x; TPOT close to the baseline; too high a ratio raises TPOT.

    python scripts/reproduce_adrenaline.py [--requests 1500]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ador.calibration.data import shared_dir
from ador.serve import RequestSet
from ador.serve.cluster import Instance, route_target
from ador.serve.policies import pool_step, simulate_cluster
from ador.spec.cluster import AdrenalineSpec, ClusterSpec, PoolSpec
from ador.spec.io import load_model

SHARED = shared_dir() / "workloads"
TTFT_SLO_S, TPOT_SLO_S = 0.5, 0.1
SHAREGPT_MEAN_INPUT = 251  # semi-PD paper's ShareGPT mean input (tokens)
PREFILL_LOAD = 0.6  # offered prompt tokens / the prefill instance's prefill speed


NOTES = """
Where ador differs and why:
- Offload admission is per request, as the paper's: a request entering decode is
  offloaded while its KV at maximum length (prompt + output) fits the prefill instance's
  spare KV (its pool less one max-context prefill batch) and the offloaded share stays
  within the offload bound. Counted at maximum length, the spare KV holds about 60
  OpenThoughts-like requests (1,750 tokens each), so above a ratio of about 0.3 that room,
  not the ratio, decides how many are offloaded: the sweep is flat from 0.3 to 0.9, where
  the paper peaks at 0.7-0.8 and loses TPOT beyond (its executor has more room, and ador
  charges the executor its bandwidth share all the time).
- Gains on the ShareGPT-like workload (1.3x) are below the paper's 1.47x: the conversation
  trace's outputs (mean 211 tokens) are shorter than ShareGPT's, so the decode instance is
  less KV-bound; on long outputs (OpenThoughts-like) ador gives 1.35-1.5x.
- Back-pressure: the prefill instance holds a prompt's KV until the decode instance admits
  it and stops prefilling when its pool is full, so a full decode instance shows as TTFT
  (as in the paper) and as the wait between the first token (emitted by the prefill) and
  the second. The load is above what either system sustains, so queues grow over the run
  and TTFT p90 is tens to hundreds of seconds. Adrenaline's TPOT is 3-7x lower than PD's
  (it admits more requests); its TTFT is lower for llama2-13b but higher for llama2-7b on
  ShareGPT-like lengths: the executor's KV region leaves the prefill one batch of its pool
  for KV waiting to move, and the executor slows its prefills.
- Prefill slowdown beside the executor: the roofline of the prefill's reduced compute
  share (1 - executor share) and HBM share (what the executor leaves) over each
  iteration's compute / memory time; about 1.17x at an executor share of 0.2 for a
  compute-bound prefill (linear: 1.25x), more for short prefills, whose HBM traffic meets
  the executor's.
"""


def offered_rate(m, p) -> float:
    """A rate that keeps the prefill instance at PREFILL_LOAD of its speed (the decode
    instance, bound by its KV capacity, is then the bottleneck, as in the paper)."""
    step = pool_step(PoolSpec(), m)
    target = route_target(Instance(step, PoolSpec().scheduler, 1), m.max_context)
    return PREFILL_LOAD * target.prefill_tokens_per_s / float(np.mean(p))


def workloads(n: int, max_context: int) -> dict:
    conv = SHARED / "splitwise_conv.csv"
    if not conv.exists():
        print(f"{conv} not found: nothing to run", file=sys.stderr)
        return {}
    d = np.loadtxt(conv, delimiter=",", skiprows=1, max_rows=n)
    p = np.maximum(1, np.round(d[:, 1] * SHAREGPT_MEAN_INPUT / d[:, 1].mean())).astype(
        np.int64)
    p = np.minimum(p, 2048)
    o = np.maximum(d[:, 2].astype(np.int64), 2)
    rng = np.random.default_rng(0)
    long_o = np.clip(rng.lognormal(np.log(1500) - 0.32, 0.8, n), 2, max_context - p).astype(
        np.int64)
    return {"ShareGPT-like (conv)": (p, np.minimum(o, max_context - p)),
            "OpenThoughts-like": (p, long_o)}


def run(spec, m, p, o, rate):
    arr = np.cumsum(np.random.default_rng(1).exponential(1.0 / rate, p.shape[0]))
    rq = RequestSet(arrival_s=arr - arr[0], prompt_tokens=p, output_tokens=o)
    return simulate_cluster(cluster=spec, model=m, requests=rq, ttft_slo_s=TTFT_SLO_S,
                            tpot_slo_s=TPOT_SLO_S)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1500)
    args = ap.parse_args()
    t0 = time.perf_counter()
    pool = PoolSpec()
    pd = ClusterSpec(policy="disaggregated", prefill=pool, decode=pool)
    ad = pd.model_copy(update={"policy": "adrenaline",
                               "adrenaline": AdrenalineSpec(offload_ratio=0.7,
                                                            executor_share=None)})
    print("Adrenaline reproduction: A100-80GB, 1P1D, NVLink; load above 1P1D's capacity")
    head = (f"{'model / workload':34s} {'system':11s} {'out tok/s':>9s} {'TTFT p90':>9s} "
            f"{'TPOT mean':>9s} {'batch mean':>10s} {'ratio':>6s} {'exec':>5s}")
    gains = []
    for mname in ("llama2-7b", "llama2-13b"):
        m = load_model(mname)
        for wname, (p, o) in workloads(args.requests, m.max_context).items():
            rate = offered_rate(m, p)
            print(f"\n{rate:.1f} req/s offered\n" + head)
            res = {}
            for label, spec in (("PD 1P1D", pd), ("Adrenaline", ad)):
                r = run(spec, m, p, o, rate)
                res[label] = r
                s = r.summary
                print(f"{mname + ' / ' + wname:34s} {label:11s} "
                      f"{s['output_throughput_tok_per_s']:9.0f} {s['ttft_p90_s']:9.3f} "
                      f"{s['tpot_mean_s']:9.3f} {s['batch_size_mean']:10.1f} "
                      f"{r.limits.get('offload_ratio', 0.0):6.2f} "
                      f"{r.limits.get('executor_share', 0.0):5.2f}")
            g = (res["Adrenaline"].summary["output_throughput_tok_per_s"]
                 / res["PD 1P1D"].summary["output_throughput_tok_per_s"])
            gains.append(g)
            print(f"{'':34s} throughput gain {g:.2f}x (paper: 1.47-1.68x)")
    m = load_model("llama2-7b")
    p, o = workloads(args.requests, m.max_context)["OpenThoughts-like"]
    print("\noffload ratio sweep (llama2-7b, OpenThoughts-like, executor share 0.2, no bound)")
    print(f"{'ratio':>6s} {'out tok/s':>9s} {'TPOT mean':>9s}")
    for ratio in (0.0, 0.3, 0.5, 0.7, 0.8, 0.9):
        spec = pd.model_copy(update={"policy": "adrenaline", "adrenaline": AdrenalineSpec(
            offload_ratio=ratio, executor_share=0.2, apply_offload_bound=False)})
        s = run(spec, m, p, o, offered_rate(m, p)).summary
        print(f"{ratio:6.1f} {s['output_throughput_tok_per_s']:9.0f} {s['tpot_mean_s']:9.3f}")
    print(f"\n{'headline':28s} {'ador':>8s} {'paper':>8s}")
    print(f"{'output throughput gain (max)':28s} {max(gains):7.2f}x {1.68:7.2f}x")
    print(NOTES)
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
