"""Reproduce the ADOR paper's headline comparison with ador's own models.

ADOR (Kim et al., arXiv 2503.04253) reports, for a heterogeneous systolic-array + MAC-tree
accelerator under the A100's die area, 2.51x better time between tokens and 4.01x better
area efficiency (tokens/s per mm²) than the A100 at high batch. This script searches the
ador-paper space (one chip, tp 1) under problems/ador-paper.yaml - llama3-8b at batch 128
and 256, 128 prompt + 512 generated tokens, tpot <= 50 ms, ttft <= 2.2 s (prefill about
as fast as the A100's), die area <= 826 mm² (A100),
HBM bandwidth <= 2.039 TB/s (A100 80 GB) - and prints, for each high-batch scenario, the
tpot and area-efficiency ratios against the A100 of the Pareto designs that are best on
each, and of the design with the best product of the two. Numbers come from the cost,
area and power models as they stand; they are the model's findings, not the paper's.

The serving section (``--serving``, on by default) asks the same question under serving:
a joint search of the ador-joint space (the same hardware knobs plus scheduler, Sarathi
chunk size, running-request cap and KV memory share) under problems/ador-joint.yaml -
goodput per mm² on the Azure conversation trace's first 1,000 requests with its SLOs
(TTFT 2 s, TPOT 100 ms, 90 % attainment), ranked by ador's analytical serving estimate
and confirmed by the discrete-event simulator - then simulates the static search's
winners (at vLLM's default settings, as a user would deploy them), the A100 and the H100
on the same workload and prints goodput per mm² side by side: do the static winners stay
winners?

Usage: python scripts/reproduce_ador.py [--out-dir results] [--generations 60] [--seed 0]
       [--serving-generations 30] [--workers 2] [--no-serving]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ador.search.confirm import run_pool
from ador.search.explore import run_search
from ador.search.problem import SearchProblem
from ador.search.runfolder import FILES
from ador.search.serving import ServeArgs, serving_columns
from ador.search.space import load_design_space
from ador.spec.io import load_problem

ROOT = Path(__file__).resolve().parents[1]
PAPER = {"tpot": 2.51, "area_efficiency": 4.01}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "problems" / "ador-paper.yaml")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "results")
    ap.add_argument("--generations", type=int, default=None)
    ap.add_argument("--pop-size", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--serving-config", type=Path,
                    default=ROOT / "problems" / "ador-joint.yaml")
    ap.add_argument("--serving-generations", type=int, default=None)
    ap.add_argument("--serving-pop-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2,
                    help="processes for the simulator's runs (default 2)")
    ap.add_argument("--no-serving", dest="serving", action="store_false")
    args = ap.parse_args()
    spec = load_problem(args.config)
    search = spec.search.model_copy(update={k: v for k, v in (
        ("generations", args.generations), ("pop_size", args.pop_size), ("seed", args.seed))
        if v is not None})
    spec = spec.model_copy(update={"search": search})
    result = run_search(spec, out_dir=args.out_dir, config_file=str(args.config))
    pareto, base = result.pareto, result.baselines
    a100 = base[base["baseline"] == "a100"].iloc[0]
    b = spec.budgets
    print(f"space {spec.space}; budgets: area <= {b.area_mm2:.0f} mm², HBM bandwidth <= "
          f"{b.hbm_bandwidth_bytes_per_s / 1e12:.3f} TB/s; SLO ttft <= {spec.slo.ttft_s:.1f} s, "
          f"tpot <= {spec.slo.tpot_s * 1e3:.0f} ms; {result.summary['evaluations']} designs evaluated, "
          f"{result.summary['feasible']} feasible, {len(pareto)} on the Pareto front "
          f"(run folder {result.folder})")
    multi = len(spec.scenarios) > 1
    for sc in spec.scenarios:
        prefix = f"{sc.label}:" if multi else ""

        def key(metric: str, prefix: str = prefix) -> str:
            return prefix + metric

        tpot_ratio = a100[key("tpot_s")] / pareto[key("tpot_s")]
        eff_ratio = pareto[key("tokens_per_s_per_mm2")] / a100[key("tokens_per_s_per_mm2")]
        print(f"\nscenario {sc.label}: {sc.model}, batch {sc.batch}, input {sc.input_len}, "
              f"output {sc.output_len}, tp {sc.tp}, {sc.precision.value}")
        print(f"  A100: tpot {a100[key('tpot_s')] * 1e3:.2f} ms, "
              f"{a100[key('tokens_per_s_per_mm2')]:.2f} tok/s/mm² "
              f"(area {a100['area_mm2']:.0f} mm²)")
        picks = {"best tpot": int(np.argmax(tpot_ratio.values)),
                 "best area efficiency": int(np.argmax(eff_ratio.values)),
                 "best product": int(np.argmax((tpot_ratio * eff_ratio).values))}
        for label, i in picks.items():
            row = pareto.iloc[i]
            print(f"  {label:22s} {row['id']}: tpot {row[key('tpot_s')] * 1e3:.2f} ms "
                  f"({tpot_ratio.iloc[i]:.2f}x better than A100), "
                  f"{row[key('tokens_per_s_per_mm2')]:.2f} tok/s/mm² "
                  f"({eff_ratio.iloc[i]:.2f}x), area {row['area_mm2']:.0f} mm², "
                  f"ttft {row[key('ttft_s')]:.2f} s, sa {row['sa_count']}x{row['sa_dim']}², "
                  f"mac trees {row['mt_count']}x{row['mt_lanes']}x{row['mt_tree_width']}, "
                  f"HBM {row['hbm_stacks']}x {row['hbm_gen']}")
    print(f"\nADOR paper: {PAPER['tpot']}x tpot and {PAPER['area_efficiency']}x area "
          f"efficiency against the A100 at high batch.")
    if args.serving:
        serving_section(args, static_pareto=pareto, static_folder=result.folder,
                        first=spec.scenarios[0].label if multi else "")


def _settings(spec, generations: int | None, pop_size: int | None, workers: int):
    search = spec.search.model_copy(update={k: v for k, v in (
        ("generations", generations), ("pop_size", pop_size), ("workers", workers))
        if v is not None})
    return spec.model_copy(update={"search": search})


def _sched_text(s: dict) -> str:
    if not s:
        return ""
    return (f"{s['name']}, chunk {s['chunk_tokens']}, max {s['max_num_seqs']}, "
            f"KV {s['memory_fraction']}")


def serving_section(args, *, static_pareto, static_folder: Path, first: str) -> None:
    """Joint search, then the static winners, the A100 and the H100 simulated on the same
    serving workload; goodput per mm² side by side."""
    spec = _settings(load_problem(args.serving_config), args.serving_generations,
                     args.serving_pop_size, args.workers)
    joint = run_search(spec, out_dir=args.out_dir, config_file=str(args.serving_config))
    setup = SearchProblem(spec, load_design_space(spec.space)).serving
    assert setup is not None
    pre = f"{first}:" if first else ""
    tpot_col, eff_col = pre + "tpot_s", pre + "tokens_per_s_per_mm2"
    picks = {"static best tpot": int(np.argmin(static_pareto[tpot_col].values)),
             "static best tok/s/mm²": int(np.argmax(static_pareto[eff_col].values))}
    confirmed = pd.read_csv(joint.folder / FILES["confirmed"])
    mine = confirmed[confirmed["role"] == "pareto"]
    best = mine.loc[mine["sim:goodput_per_s_per_mm2"].idxmax()] if not mine.empty else None
    tuned: dict = {}
    if best is not None:
        knobs = joint.designs.set_index("id").loc[best["id"]]
        tuned = {"name": knobs["scheduler"], "chunk_tokens": int(knobs["chunk_tokens"]),
                 "max_num_seqs": int(knobs["max_num_seqs"]),
                 "memory_fraction": float(knobs["memory_fraction"])}
    hardware = [("A100", "a100", None), ("H100", "h100", None)]
    for label, i in picks.items():
        row = static_pareto.iloc[i]
        hardware.append((f"{label} ({row['id']})", str(static_folder / row["yaml"]),
                         float(row["area_mm2"])))
    base = joint.baselines.set_index("baseline")
    rows = [(name, hw, float(base.at[hw, "area_mm2"]) if area is None else area, sched)
            for sched in ([{}, tuned] if tuned else [{}]) for name, hw, area in hardware]
    tasks = [ServeArgs(hardware=hw, setup=setup, tp=1, scheduler=sched).kwargs()
             for _, hw, _, sched in rows]
    sims = run_pool(tasks, workers=args.workers)
    n = len(rows)
    cols = serving_columns(
        goodput_per_s=np.array([r.get("goodput_per_s", np.nan) for r in sims]),
        chips=np.ones(n), ttft_p99_s=np.array([r.get("ttft_p99_s", np.nan) for r in sims]),
        tpot_p99_s=np.array([r.get("tpot_p99_s", np.nan) for r in sims]),
        static={"area_mm2": np.array([r[2] for r in rows]), "power_w": np.full(n, np.nan),
                "cost_usd": np.full(n, np.nan)})
    text = _sched_text(tuned)
    table = [(name, area, cols["goodput_per_chip_per_s"][k], cols["goodput_per_s_per_mm2"][k],
              cols["tpot_p99_s"][k], text if sched else "vllm defaults")
             for k, (name, _, area, sched) in enumerate(rows)]
    if best is not None:
        table.append((f"serving search best ({best['id']})",
                      float(joint.designs.set_index("id").at[best["id"], "area_mm2"]),
                      best["sim:goodput_per_chip_per_s"], best["sim:goodput_per_s_per_mm2"],
                      best["sim:tpot_p99_s"], text))
    a100 = table[0][3]
    print(f"\nServing: {setup.model_name} on {setup.workload_ref} (first "
          f"{setup.requests.n} requests, {setup.rate_per_s:.2f} req/s), SLOs TTFT "
          f"{setup.ttft_slo_s:g} s and TPOT {setup.tpot_slo_s * 1e3:g} ms at "
          f"{setup.attainment:.0%} attainment; goodput from the discrete-event simulator "
          f"(`ador serve --goodput`); joint search run folder {joint.folder}")
    print(f"  {'design':40s} {'area mm²':>9s} {'goodput/chip':>13s} {'req/s/cm²':>10s} "
          f"{'vs A100':>8s} {'tpot p99':>9s}  scheduler")
    for name, area, good, per_mm2, tpot, sched in table:
        print(f"  {name:40s} {area:9.0f} {good:9.3f} req/s {per_mm2 * 100:10.3f} "
              f"{per_mm2 / a100:7.2f}x {tpot * 1e3:7.1f} ms  {sched}")
    err = joint.summary["serving"]["confirmation"]["errors"]
    if err:
        g = err.get("goodput_per_mm2", {})
        print(f"  estimate vs simulator over {g.get('designs', 0)} confirmed designs: "
              f"goodput median |error| {g.get('median_abs', float('nan')):.1%}, max "
              f"{g.get('max_abs', float('nan')):.1%}")


if __name__ == "__main__":
    main()
