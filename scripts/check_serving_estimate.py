"""Error of the analytical serving estimate (``ador.serve.estimate``) against the simulator.

Designs: the a100, h100 and h200 templates and random genomes of the default design space
(``ador-hetero``), llama3-8b, mostly at TP 1 and a share at TP 2; schedulers vllm and
sarathi in turn. Workload: ``conv-trace`` (its SLOs; lengths and arrival times from the
first ``--requests`` requests of ../shared/workloads/splitwise_conv.csv, or under
$ADOR_SHARED; ``--arrivals
poisson`` replaces the trace's arrival times by seeded Poisson ones, the estimate's own
assumption, to separate the model's error from the trace's burstiness).

For each row the simulator gives the goodput (``find_goodput``) and, by ``simulate`` at
``--load`` x that goodput, the P99 TTFT and TPOT; the estimate is computed for all rows in
one call per scheduler at the same rates. Prints the median, mean absolute and P90
absolute relative errors and the Spearman rank correlation of goodput, and writes
``simulated.csv``, ``rows.csv`` and ``errors.csv`` under ``--out``. With ``--reuse`` the
simulator's results in ``--out`` (same rows) are read back and only the estimate runs.

    python scripts/check_serving_estimate.py --designs 300 --out results/estimate-check
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ador.calibration.data import shared_dir
from ador.errors import AdorError
from ador.metrics import TPOT, TTFT, summary_key
from ador.model.design import DesignArrays
from ador.search.space import load_design_space
from ador.serve.api import default_step_model, simulate
from ador.serve.estimate import estimate_serving
from ador.serve.goodput import find_goodput
from ador.serve.requests import RequestSet
from ador.serve.workloads import read_trace
from ador.spec.io import load_hardware, load_model, load_serving_workload
from ador.spec.scheduler import SchedulerConfig

TRACE = shared_dir() / "workloads" / "splitwise_conv.csv"  # ../shared or $ADOR_SHARED
TEMPLATES = ("a100", "h100", "h200")
SCHEDULERS = ("vllm", "sarathi")
MODEL = "llama3-8b"


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=300, help="rows (design, tp, scheduler)")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--tp2-share", type=float, default=0.2)
    ap.add_argument("--load", type=float, default=0.7,
                    help="P99s compared at this fraction of the simulated goodput")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trace", type=Path, default=TRACE)
    ap.add_argument("--arrivals", choices=("trace", "poisson"), default="trace")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--reuse", action="store_true",
                    help="read the simulator's results from --out/simulated.csv")
    return ap.parse_args()


def _rows(n: int, *, seed: int, tp2: float) -> pd.DataFrame:
    """(hardware spec, tp, scheduler) rows: templates first, then random genomes."""
    space = load_design_space("ador-hetero")
    rng = np.random.default_rng(seed)
    specs = [load_hardware(t) for t in TEMPLATES]
    names = list(TEMPLATES)
    while len(specs) < n:
        X = space.repair(rng.uniform(space.xl, space.xu, size=(2 * n, space.n_var)))
        built, valid = space.build(X)
        for k in np.flatnonzero(valid)[: n - len(specs)]:
            specs.append(built[k])
            names.append(f"hetero-{len(specs) - len(TEMPLATES) - 1:04d}")
    specs, names = specs[:n], names[:n]
    tp = np.where(rng.random(n) < tp2, 2, 1)
    tp[: len(TEMPLATES)] = 1
    sched = [SCHEDULERS[i % len(SCHEDULERS)] for i in range(n)]
    return pd.DataFrame({"design": names, "spec": specs, "tp": tp, "scheduler": sched})


def _simulate(job: tuple) -> dict:
    """Simulator goodput and P99s at ``load`` x goodput for one row."""
    spec, tp, sched, requests, slo, load = job
    model = load_model(MODEL)
    config = SchedulerConfig(name=sched)
    started = time.perf_counter()
    try:
        step = default_step_model(hardware=spec, model=model, tp=tp, scheduler=config)
        g = find_goodput(requests=requests, ttft_slo_s=slo[0], tpot_slo_s=slo[1],
                         hardware=spec, model=model, tp=tp, scheduler=config,
                         step_model=step)
    except AdorError as err:
        return {"sim_error": str(err)}
    out = {"sim_goodput_per_s": g.rate_per_s, "sim_ttft_p99_s": np.nan,
           "sim_tpot_p99_s": np.nan, "rate_per_s": load * g.rate_per_s}
    if g.rate_per_s > 0:
        res = simulate(requests=requests.with_rate(out["rate_per_s"]), hardware=spec,
                       model=model, tp=tp, scheduler=config, step_model=step,
                       ttft_slo_s=slo[0], tpot_slo_s=slo[1])
        out["sim_ttft_p99_s"] = res.summary.get(summary_key(TTFT, "p99"), np.nan)
        out["sim_tpot_p99_s"] = res.summary.get(summary_key(TPOT, "p99"), np.nan)
    out["sim_seconds"] = time.perf_counter() - started
    return out


def _estimate(rows: pd.DataFrame, requests: RequestSet, slo: tuple) -> pd.DataFrame:
    out = []
    model = load_model(MODEL)
    for sched in SCHEDULERS:
        part = rows[rows.scheduler == sched]
        rate = part.rate_per_s.fillna(0.0).to_numpy()
        started = time.perf_counter()
        est = estimate_serving(designs=DesignArrays.from_specs(list(part.spec)), model=model,
                               tp=part.tp.to_numpy(), prompt_tokens=requests.prompt_tokens,
                               output_tokens=requests.output_tokens,
                               scheduler=SchedulerConfig(name=sched),
                               rate_per_s=np.where(rate > 0, rate, 1e-3),
                               ttft_slo_s=slo[0], tpot_slo_s=slo[1])
        print(f"estimate: {len(part)} {sched} rows in {time.perf_counter() - started:.2f} s")
        out.append(pd.DataFrame({"est_goodput_per_s": est.goodput_per_s,
                                 "est_ttft_p99_s": est.ttft_p99_s,
                                 "est_tpot_p99_s": est.tpot_p99_s,
                                 "est_max_throughput_per_s": est.max_throughput_per_s,
                                 "kv_capacity_tokens": est.kv_capacity_tokens},
                                index=part.index))
    return pd.concat(out).loc[rows.index]


def _errors(rows: pd.DataFrame) -> pd.DataFrame:
    """Relative-error statistics of goodput and P99s, per scheduler and overall."""
    out = []
    for label, part in [("all", rows)] + [(s, rows[rows.scheduler == s]) for s in SCHEDULERS]:
        for metric in ("goodput_per_s", "ttft_p99_s", "tpot_p99_s"):
            sim, est = part[f"sim_{metric}"], part[f"est_{metric}"]
            keep = (sim > 0) & np.isfinite(sim) & np.isfinite(est)
            rel = (est[keep] - sim[keep]) / sim[keep]
            row = {"scheduler": label, "metric": metric, "rows": int(keep.sum()),
                   "median_rel": float(np.median(rel)) if keep.any() else np.nan,
                   "mean_abs_rel": float(np.mean(np.abs(rel))) if keep.any() else np.nan,
                   "p90_abs_rel": float(np.percentile(np.abs(rel), 90)) if keep.any()
                   else np.nan, "spearman": np.nan}
            if metric == "goodput_per_s":
                both = part.sim_goodput_per_s.notna()
                row["spearman"] = float(spearmanr(part.sim_goodput_per_s[both],
                                                  part.est_goodput_per_s[both])[0])
                row["zero_agree"] = int(((part.sim_goodput_per_s == 0)
                                         & (part.est_goodput_per_s == 0)).sum())
                row["zero_disagree"] = int(((part.sim_goodput_per_s == 0)
                                            != (part.est_goodput_per_s == 0))[both].sum())
            out.append(row)
    return pd.DataFrame(out)


def _simulate_all(rows: pd.DataFrame, requests: RequestSet, slo: tuple,
                  args: argparse.Namespace) -> list:
    jobs = [(r.spec, int(r.tp), r.scheduler, requests, slo, args.load)
            for r in rows.itertuples()]
    started = time.perf_counter()
    sims = []
    with Pool(args.processes) as pool:
        for k, res in enumerate(pool.imap(_simulate, jobs, chunksize=1)):
            sims.append(res)
            if (k + 1) % 25 == 0:
                print(f"simulated {k + 1}/{len(jobs)} in {time.perf_counter() - started:.0f} s",
                      flush=True)
    return sims


def main() -> int:
    args = _args()
    if not args.trace.is_file():
        print(f"{args.trace}: trace not found (give --trace)", file=sys.stderr)
        return 2
    workload = load_serving_workload("conv-trace")
    slo = (workload.slo.ttft, workload.slo.tpot)
    trace = read_trace(args.trace)
    n = min(args.requests, len(trace))
    times = trace.arrival_s[:n] - trace.arrival_s[0]
    if args.arrivals == "poisson":
        rng = np.random.default_rng(args.seed)
        times = np.concatenate([[0.0], np.cumsum(rng.exponential(1.0, n - 1))])
    requests = RequestSet(arrival_s=times, prompt_tokens=trace.prompt_tokens[:n],
                          output_tokens=trace.output_tokens[:n])
    rows = _rows(args.designs, seed=args.seed, tp2=args.tp2_share)
    started = time.perf_counter()
    cache = args.out / "simulated.csv"
    if args.reuse:
        sims = pd.read_csv(cache)
        if list(sims.design) != list(rows.design) or list(sims.tp) != list(rows.tp):
            print(f"{cache}: other rows than --designs/--seed give", file=sys.stderr)
            return 2
        sims = sims.drop(columns=["design", "tp", "scheduler"])
    else:
        sims = pd.DataFrame(_simulate_all(rows, requests, slo, args), index=rows.index)
        args.out.mkdir(parents=True, exist_ok=True)
        pd.concat([rows.drop(columns="spec"), sims], axis=1).to_csv(cache, index=False)
    rows = pd.concat([rows, sims.set_index(rows.index)], axis=1)
    if "sim_error" not in rows:
        rows["sim_error"] = ""
    ok = rows.sim_error.isna() | (rows.sim_error == "")
    rows = pd.concat([rows, _estimate(rows[ok], requests, slo)], axis=1)
    errors = _errors(rows[ok])
    args.out.mkdir(parents=True, exist_ok=True)
    rows.drop(columns="spec").to_csv(args.out / "rows.csv", index=False)
    errors.to_csv(args.out / "errors.csv", index=False)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(errors.round(3).to_string(index=False))
    print(f"rows {len(rows)}, simulator errors {int((~ok).sum())}, "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
