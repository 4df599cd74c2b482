"""Which hardware each serving policy favours: every policy on the GPU baselines and on
ador's heterogeneous designs at equal chip count (2 chips), goodput per chip.

Model llama3-8b; lengths: the Azure conversation trace with prompts scaled to ShareGPT's
mean of 251 tokens (../shared/workloads); Poisson arrivals; SLOs TTFT 0.5 s and TPOT
50 ms (>= 90% attainment). Hardware: A100, H100, H200, ador-hetero (systolic arrays + MAC
trees on one chip) and, for the two-pool policies, ador-systolic prefill + ador-mactree
decode. The grid is ``ador.serve.policy_grid`` (``ador policies`` on a serving workload);
``--out DIR`` also writes its run folder (then ``ador report DIR/policies-...``) and
``--html FILE`` the report page alone (goodput per chip, attainment versus rate, TTFT/TPOT
percentiles, pool utilisation, KV occupancy).

    python scripts/policy_hardware.py [--requests 2000] [--out results] [--html policies.html]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ador.calibration.data import shared_dir
from ador.report.policy_data import goodput_table
from ador.serve import RequestSet
from ador.serve.policy_grid import (
    DEFAULT_RATE_FRACTIONS,
    GridConfig,
    HardwareChoice,
    run_policy_grid,
)
from ador.spec.io import load_model

SHARED = shared_dir() / "workloads"
TTFT, TPOT = 0.5, 0.05
HARDWARE = (HardwareChoice("A100", "a100-sxm-80gb", "a100-sxm-80gb"),
            HardwareChoice("H100", "h100-sxm-80gb", "h100-sxm-80gb"),
            HardwareChoice("H200", "h200-sxm-141gb", "h200-sxm-141gb"),
            HardwareChoice("ador-hetero", "ador-hetero", "ador-hetero"),
            HardwareChoice("systolic P + mactree D", "ador-systolic", "ador-mactree"))
MEAN_PROMPT = 251  # ShareGPT's mean prompt length (tokens)


def requests(n: int, trace: Path) -> RequestSet | None:
    if not trace.exists():
        print(f"{trace} not found: nothing to run", file=sys.stderr)
        return None
    d = np.loadtxt(trace, delimiter=",", skiprows=1, max_rows=n)
    p = np.maximum(1, np.round(d[:, 1] * MEAN_PROMPT / d[:, 1].mean())).astype(np.int64)
    arr = np.cumsum(np.random.default_rng(0).exponential(1.0, n))
    return RequestSet(arrival_s=arr - arr[0], prompt_tokens=p,
                      output_tokens=np.maximum(d[:, 2], 1).astype(np.int64))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--trace", type=Path, default=SHARED / "splitwise_conv.csv")
    ap.add_argument("--out", type=Path, default=None, help="write the run folder here")
    ap.add_argument("--html", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rq = requests(args.requests, args.trace)
    if rq is None:
        return 0
    figures = args.html is not None or args.out is not None
    config = GridConfig(hardware=HARDWARE, ttft_slo_s=TTFT, tpot_slo_s=TPOT,
                        rate_fractions=DEFAULT_RATE_FRACTIONS if figures else ())
    grid = run_policy_grid(config=config, model=load_model("llama3-8b"), requests=rq)
    t = goodput_table(grid.goodput_frame(), hardware=[h.label for h in HARDWARE])
    print(f"goodput per chip (req/s), llama3-8b, 2 chips, SLO TTFT {TTFT} s / TPOT {TPOT} s")
    print(t["per_chip"].round(2).to_string(na_rep="-"))
    print(f"\nrelative to {t['baseline']} (which hardware each policy favours)")
    print(t["relative"].round(2).to_string(na_rep="-"))
    print("\nbest hardware per policy: " + "; ".join(f"{p}: {h}" for p, h in t["best"].items()))
    workload = {"name": "conv-trace-251", "source": str(args.trace),
                "description": f"first {rq.n} requests of the trace, prompts scaled to a "
                               f"{MEAN_PROMPT}-token mean, Poisson arrivals (seed 0)"}
    if args.out is not None:
        from ador.serve.policy_runfolder import write_policy_run

        folder = write_policy_run(args.out, name="policies-conv", grid=grid, requests=rq,
                                  workload=workload)
        print(f"wrote {folder}")
    if args.html is not None:
        from ador.report.policy_report import build_policy_report, render_policy_html
        from ador.serve.policy_runfolder import policy_run_of
        from ador.spec.io import write_text_atomic

        run = policy_run_of(grid, workload=workload, path=args.html.parent)
        write_text_atomic(args.html, render_policy_html(build_policy_report(run)))
        print(f"wrote {args.html}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
