"""Error of the disaggregated estimate (``ador.serve.estimate_pd``) against ``ador cluster``.

Cases: P:D ratios 1:1, 2:1, 1:2 and 2:2 on A100 and H100 pools (same and mixed), llama3-8b,
TP 1, workloads ``fixed-512-512`` (2,000 requests) and ``lognormal-poisson`` (1,000, SLOs
TTFT 2 s, TPOT 100 ms). For each the simulator gives the goodput (``run_cluster`` with
``goodput=True``, what ``ador cluster --goodput`` runs) and the P99 TTFT and TPOT at the
workload's rate; the estimate is computed at the same rate. Prints one row per case and
the median and largest absolute relative errors. A deployment whose goodput drains the
simulated requests before a steady state (2 x H100 : 2 x H100 on 2,000 fixed requests:
138 req/s simulated, 62 req/s on 8,000) shows the finite-run effect the estimate leaves
out, not a model error.

    python scripts/check_pd_estimate.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ador.model.design import DesignArrays
from ador.serve.cluster import node_link
from ador.serve.cluster_run import run_cluster
from ador.serve.estimate_pd import estimate_disaggregated
from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
from ador.spec.cluster import ClusterSpec, PoolSpec
from ador.spec.io import dump_yaml, load_hardware, load_model
from ador.spec.scheduler import SchedulerConfig

WORKLOADS = {"fixed-512-512": (2000, None), "lognormal-poisson": (1000, (2.0, 0.1))}
POOLS = [("a100", "a100", 1, 1), ("a100", "a100", 2, 1), ("a100", "a100", 1, 2),
         ("h100", "a100", 1, 2), ("h100", "h100", 2, 2)]


def one(workload: str, pre: str, dec: str, x: int, y: int, folder: Path) -> dict:
    n, slo = WORKLOADS[workload]
    spec, base = load_workload(workload)
    spec = apply_overrides(spec, {"num_requests": n})
    req = requests_from_spec(spec, base_dir=base)
    ttft, tpot = slo or (float(spec.slo.ttft), float(spec.slo.tpot))
    link = node_link(load_hardware(pre), tp=1)
    t0 = time.perf_counter()
    est = estimate_disaggregated(
        prefill=DesignArrays.from_specs([load_hardware(pre)]),
        decode=DesignArrays.from_specs([load_hardware(dec)]), model=load_model("llama3-8b"),
        tp=np.ones(1, dtype=int), prompt_tokens=req.prompt_tokens,
        output_tokens=req.output_tokens, scheduler=SchedulerConfig(),
        prefill_instances=np.array([x]), decode_instances=np.array([y]),
        link_bytes_per_s=np.array([link.bytes_per_s]), link_latency_s=np.array([link.latency_s]),
        rate_per_s=float(spec.arrivals.rate), ttft_slo_s=ttft, tpot_slo_s=tpot)
    t1 = time.perf_counter()
    path = folder / f"{workload}-{pre}{x}-{dec}{y}.yaml"
    path.write_text(dump_yaml(ClusterSpec(policy="disaggregated",
                                          prefill=PoolSpec(hardware=pre, count=x),
                                          decode=PoolSpec(hardware=dec, count=y))))
    out = run_cluster(cluster=str(path), workload=workload, model="llama3-8b", options={},
                      overrides={"num_requests": n}, goodput=True, ttft_slo=f"{ttft} s",
                      tpot_slo=f"{tpot} s")
    t2 = time.perf_counter()
    sim = {"goodput": out["goodput"]["rate_per_s"], "ttft_p99": out["summary"]["ttft_p99_s"],
           "tpot_p99": out["summary"]["tpot_p99_s"]}
    mine = {"goodput": float(est.goodput_per_s[0]), "ttft_p99": float(est.ttft_p99_s[0]),
            "tpot_p99": float(est.tpot_p99_s[0])}
    return {"case": f"{workload} {x}x{pre} : {y}x{dec}", "est_s": t1 - t0, "sim_s": t2 - t1,
            **{f"est_{k}": v for k, v in mine.items()}, **{f"sim_{k}": v for k, v in sim.items()},
            **{f"err_{k}": mine[k] / sim[k] - 1.0 for k in mine}}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workload in WORKLOADS:
            for pre, dec, x, y in POOLS:
                r = one(workload, pre, dec, x, y, Path(tmp))
                rows.append(r)
                print(f"{r['case']:<40} goodput est {r['est_goodput']:7.2f} sim "
                      f"{r['sim_goodput']:7.2f} req/s ({r['err_goodput']:+.1%}); P99 TTFT "
                      f"{r['err_ttft_p99']:+.1%}, TPOT {r['err_tpot_p99']:+.1%}; estimate "
                      f"{r['est_s'] * 1e3:.0f} ms, simulator {r['sim_s']:.1f} s", flush=True)
    for k in ("goodput", "ttft_p99", "tpot_p99"):
        err = np.abs([r[f"err_{k}"] for r in rows])
        print(f"{k}: median |error| {np.median(err):.1%}, max {np.max(err):.1%}")


if __name__ == "__main__":
    main()
