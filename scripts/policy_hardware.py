"""Which hardware each serving policy favours: every policy on the GPU baselines and on
ador's heterogeneous designs at equal chip count (2 chips), goodput per chip.

Model llama3-8b; lengths: the Azure conversation trace with prompts scaled to ShareGPT's
mean of 251 tokens (../shared/workloads); Poisson arrivals; SLOs TTFT 0.5 s and TPOT
50 ms (>= 90% attainment). Hardware: A100, H100, H200, ador-hetero (systolic arrays + MAC
trees on one chip) and, for the two-pool policies, ador-systolic prefill + ador-mactree
decode. ``--html FILE`` also writes the figures comparing policies (goodput per chip,
attainment versus rate, TTFT/TPOT percentiles, pool utilisation, KV occupancy).

    python scripts/policy_hardware.py [--requests 2000] [--html policies.html]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ador.calibration.data import shared_dir
from ador.serve import RequestSet
from ador.serve.goodput import goodput_of
from ador.serve.policies import simulate_cluster
from ador.spec.cluster import (
    AccellmSpec,
    AdrenalineSpec,
    ClusterSpec,
    PoolSpec,
    SemiPdSpec,
)
from ador.spec.io import load_model
from ador.spec.scheduler import SchedulerConfig

SHARED = shared_dir() / "workloads"
TTFT, TPOT = 0.5, 0.05
HARDWARE = {"A100": ("a100-sxm-80gb",) * 2, "H100": ("h100-sxm-80gb",) * 2,
            "H200": ("h200-sxm-141gb",) * 2, "ador-hetero": ("ador-hetero",) * 2,
            "systolic P + mactree D": ("ador-systolic", "ador-mactree")}


def policies(pre: str, dec: str) -> dict:
    same = pre == dec
    out = {}
    if same:
        out["colocated (Sarathi)"] = ClusterSpec(router="least_work", pool=PoolSpec(
            hardware=pre, count=2, scheduler=SchedulerConfig(name="sarathi")))
    out["PD 1P1D"] = ClusterSpec(policy="disaggregated", prefill=PoolSpec(hardware=pre),
                                 decode=PoolSpec(hardware=dec))
    out["Adrenaline 1P1D"] = ClusterSpec(policy="adrenaline", prefill=PoolSpec(hardware=pre),
                                         decode=PoolSpec(hardware=dec),
                                         adrenaline=AdrenalineSpec(executor_share=None))
    if same:
        out["semi-PD"] = ClusterSpec(policy="semi_pd", router="least_work", pool=PoolSpec(
            hardware=pre, count=2), semi_pd=SemiPdSpec(controller=True))
        out["AcceLLM pair"] = ClusterSpec(policy="accellm", router="least_work",
                                          pool=PoolSpec(hardware=pre, count=2),
                                          accellm=AccellmSpec(redundancy=1.0))
    return out


def requests(n: int) -> RequestSet | None:
    conv = SHARED / "splitwise_conv.csv"
    if not conv.exists():
        print(f"{conv} not found: nothing to run", file=sys.stderr)
        return None
    d = np.loadtxt(conv, delimiter=",", skiprows=1, max_rows=n)
    p = np.maximum(1, np.round(d[:, 1] * 251 / d[:, 1].mean())).astype(np.int64)
    arr = np.cumsum(np.random.default_rng(0).exponential(1.0, n))
    return RequestSet(arrival_s=arr - arr[0], prompt_tokens=p,
                      output_tokens=np.maximum(d[:, 2], 1).astype(np.int64))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--html", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rq = requests(args.requests)
    if rq is None:
        return 0
    m = load_model("llama3-8b")
    rows, runs = [], []
    for hw, (pre, dec) in HARDWARE.items():
        for name, spec in policies(pre, dec).items():
            def sim(r, s=spec):
                return simulate_cluster(cluster=s, model=m, requests=r, ttft_slo_s=TTFT,
                                        tpot_slo_s=TPOT)
            g = goodput_of(sim, requests=rq, ttft_slo_s=TTFT, tpot_slo_s=TPOT)
            rows.append({"policy": name, "hardware": hw, "goodput_per_chip": g.per_chip})
            if args.html is not None and g.rate_per_s > 0:
                for frac in (0.5, 0.8, 1.0, 1.2):
                    res = sim(rq.with_rate(frac * g.rate_per_s))
                    runs.append({"policy": name, "hardware": hw,
                                 "rate_per_chip": frac * g.per_chip, **res.summary})
    df = pd.DataFrame(rows)
    table = df.pivot(index="policy", columns="hardware", values="goodput_per_chip")
    table = table[[h for h in HARDWARE if h in table.columns]]
    print(f"goodput per chip (req/s), llama3-8b, 2 chips, SLO TTFT {TTFT} s / TPOT {TPOT} s")
    print(table.round(2).to_string(na_rep="-"))
    print("\nrelative to A100 (which hardware each policy favours)")
    print((table.div(table["A100"], axis=0)).round(2).to_string(na_rep="-"))
    best = table.idxmax(axis=1)
    print("\nbest hardware per policy: " + "; ".join(f"{p}: {h}" for p, h in best.items()))
    if args.html is not None:
        from ador.report.policy_figures import policy_report
        args.html.write_text(policy_report(df, pd.DataFrame(runs)))
        print(f"wrote {args.html}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
