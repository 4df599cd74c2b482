"""Error of the semi-PD estimate (``ador.serve.estimate_semipd``) against ``ador cluster``.

Cases: worker shares (prefill, decode) of (0.8, 1.0) (semi-PD's defaults, contention),
(0.5, 0.5), (0.7, 0.3) and (0.3, 0.7) on one A100 and one H100 with vLLM, and (1.0, 0.5)
on an A100 with Sarathi-Serve's 256- and 1,024-token chunks; llama3-8b, TP 1, workloads
``fixed-512-512`` (2,000 requests) and ``lognormal-poisson`` (1,000, SLOs TTFT 2 s, TPOT
100 ms). For each the simulator gives the goodput (``run_cluster`` with ``goodput=True``,
what ``ador cluster --goodput`` runs) and the P99 TTFT and TPOT at the workload's rate; the
estimate is computed at the same rate. Prints one row per case and the median and largest
absolute relative errors.

    python scripts/check_semipd_estimate.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ador.model.design import DesignArrays
from ador.serve.cluster_run import run_cluster
from ador.serve.estimate_semipd import estimate_semi_pd
from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
from ador.spec.cluster import ClusterSpec, PoolSpec, SemiPdSpec
from ador.spec.io import dump_yaml, load_hardware, load_model
from ador.spec.scheduler import SchedulerConfig

WORKLOADS = {"fixed-512-512": (2000, None), "lognormal-poisson": (1000, (2.0, 0.1))}
VLLM = SchedulerConfig()
SARATHI_256 = SchedulerConfig(name="sarathi", chunk_tokens=256)
SARATHI_1024 = SchedulerConfig(name="sarathi", chunk_tokens=1024)
CASES = [("a100", 0.8, 1.0, VLLM), ("a100", 0.5, 0.5, VLLM), ("a100", 0.7, 0.3, VLLM),
         ("a100", 0.3, 0.7, VLLM), ("h100", 0.8, 1.0, VLLM), ("h100", 0.5, 0.5, VLLM),
         ("a100", 1.0, 0.5, SARATHI_256), ("a100", 1.0, 0.5, SARATHI_1024)]


def one(workload: str, hw: str, x: float, y: float, sched: SchedulerConfig, folder: Path
        ) -> dict:
    n, slo = WORKLOADS[workload]
    spec, base = load_workload(workload)
    spec = apply_overrides(spec, {"num_requests": n})
    req = requests_from_spec(spec, base_dir=base)
    ttft, tpot = slo or (float(spec.slo.ttft), float(spec.slo.tpot))
    t0 = time.perf_counter()
    est = estimate_semi_pd(
        designs=DesignArrays.from_specs([load_hardware(hw)]), model=load_model("llama3-8b"),
        tp=np.ones(1, dtype=int), prompt_tokens=req.prompt_tokens,
        output_tokens=req.output_tokens, scheduler=sched, prefill_share=x,
        decode_share=y, rate_per_s=float(spec.arrivals.rate), ttft_slo_s=ttft,
        tpot_slo_s=tpot)
    t1 = time.perf_counter()
    path = folder / f"{workload}-{hw}-{x}-{y}-{sched.name}{sched.chunk_tokens}.yaml"
    pool = PoolSpec(hardware=hw, scheduler=sched)
    path.write_text(dump_yaml(ClusterSpec(policy="semi_pd", pool=pool,
                                          semi_pd=SemiPdSpec(prefill_share=x,
                                                             decode_share=y))))
    out = run_cluster(cluster=str(path), workload=workload, model="llama3-8b", options={},
                      overrides={"num_requests": n}, goodput=True, ttft_slo=f"{ttft} s",
                      tpot_slo=f"{tpot} s")
    t2 = time.perf_counter()
    sim = {"goodput": out["goodput"]["rate_per_s"], "ttft_p99": out["summary"]["ttft_p99_s"],
           "tpot_p99": out["summary"]["tpot_p99_s"]}
    mine = {"goodput": float(est.goodput_per_s[0]), "ttft_p99": float(est.ttft_p99_s[0]),
            "tpot_p99": float(est.tpot_p99_s[0])}
    name = sched.name if sched.name == "vllm" else f"{sched.name} {sched.chunk_tokens}"
    return {"case": f"{workload} {hw} {name} shares {x}/{y}", "est_s": t1 - t0, "sim_s": t2 - t1,
            **{f"est_{k}": v for k, v in mine.items()}, **{f"sim_{k}": v for k, v in sim.items()},
            **{f"err_{k}": mine[k] / sim[k] - 1.0 for k in mine}}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workload in WORKLOADS:
            for hw, x, y, sched in CASES:
                r = one(workload, hw, x, y, sched, Path(tmp))
                rows.append(r)
                print(f"{r['case']:<52} goodput est {r['est_goodput']:7.2f} sim "
                      f"{r['sim_goodput']:7.2f} req/s ({r['err_goodput']:+.1%}); P99 TTFT "
                      f"{r['err_ttft_p99']:+.1%}, TPOT {r['err_tpot_p99']:+.1%}; estimate "
                      f"{r['est_s'] * 1e3:.0f} ms, simulator {r['sim_s']:.1f} s", flush=True)
    for k in ("goodput", "ttft_p99", "tpot_p99"):
        err = np.abs([r[f"err_{k}"] for r in rows])
        err = err[np.isfinite(err)]
        print(f"{k}: median |error| {np.median(err):.1%}, max {np.max(err):.1%}")


if __name__ == "__main__":
    main()
