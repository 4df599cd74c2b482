"""A small run folder in the documented layout (ador.search.runfolder), built without a search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
KNOBS = [
    {"name": "sa_count", "path": "chip.units.systolic_array.count", "type": "int", "low": 0,
     "high": 16},
    {"name": "sram", "path": "chip.sram.capacity_bytes", "type": "choice", "unit": "bytes",
     "values": ["16 MiB", "64 MiB"]},
    {"name": "hbm", "path": "chip.hbm", "type": "choice", "values": [{}, {}],
     "labels": ["hbm3", "hbm3e"]},
]


def make_run(root: Path, *, n: int = 24, seed: int = 0, name: str = "smoke-20250101-000000"
             ) -> Path:
    """Write a run folder with ``n`` designs, about a quarter of them on the Pareto front."""
    rng = np.random.default_rng(seed)
    run = root / name
    (run / "pareto").mkdir(parents=True)
    thr = rng.uniform(200, 4000, n)
    per_area = thr / rng.uniform(300, 900, n)
    designs = pd.DataFrame({
        "id": [f"d{i:05d}" for i in range(n)],
        "batch": np.arange(n) // 8,
        "feasible": (rng.uniform(size=n) > 0.2).astype(int),
        "sa_count": rng.integers(0, 17, n),
        "sram": rng.choice([16 * 2**20, 64 * 2**20], n),
        "hbm": rng.choice(["hbm3", "hbm3e"], n),
        "ttft_s": rng.uniform(0.05, 0.4, n),
        "tpot_s": rng.uniform(0.005, 0.04, n),
        "throughput_per_chip_tok_s": thr,
        "tokens_per_s_per_mm2": per_area,
        "area_mm2": thr / per_area,
        "hbm_bw_bytes_per_s": rng.choice([3.3e12, 4.1e12], n),
        "p2p_bw_bytes_per_s": 4e11,
        "tp": 1,
        "chips": 8,
        "fits_memory": 1,
        "g_tpot": rng.uniform(-1, -0.1, n),
        "obj_throughput_per_chip": -thr,
        "obj_tokens_per_s_per_mm2": -per_area,
    })
    feas = designs[designs["feasible"] == 1]
    keep = []
    for i, r in feas.iterrows():
        dominated = ((feas["throughput_per_chip_tok_s"] >= r["throughput_per_chip_tok_s"])
                     & (feas["tokens_per_s_per_mm2"] >= r["tokens_per_s_per_mm2"])
                     & ((feas["throughput_per_chip_tok_s"] > r["throughput_per_chip_tok_s"])
                        | (feas["tokens_per_s_per_mm2"] > r["tokens_per_s_per_mm2"]))).any()
        if not dominated:
            keep.append(i)
    pareto = designs.loc[keep].copy()
    pareto["yaml"] = [f"pareto/{i}.yaml" for i in pareto["id"]]
    for i in pareto["id"]:
        shutil.copy(ROOT / "hwtemplates" / "ador-hetero.yaml", run / "pareto" / f"{i}.yaml")
    designs.to_csv(run / "designs.csv", index=False)
    pareto.to_csv(run / "pareto.csv", index=False)
    pd.DataFrame([
        {"baseline": b, "scenario": "chat", "tp": 1, "ttft_s": t, "tpot_s": p,
         "throughput_per_chip_tok_s": thr_b, "tokens_per_s_per_mm2": thr_b / a,
         "area_mm2": a}
        for b, t, p, thr_b, a in (("a100", 0.30, 0.030, 900.0, 826.0),
                                  ("h100", 0.15, 0.018, 1800.0, 814.0),
                                  ("h200", 0.14, 0.013, 2500.0, 814.0))
    ]).to_csv(run / "baselines.csv", index=False)
    evals = np.arange(8, n + 1, 8)
    pd.DataFrame({"evaluations": evals, "feasible": evals * 3 // 4,
                  "hypervolume": 1 - 0.5 ** (evals / 8)}).to_csv(run / "hypervolume.csv",
                                                                 index=False)
    config = {"name": "smoke", "space": "ador-hetero",
              "scenarios": [{"name": "chat", "model": "llama3-8b", "batch": 8, "input_len": 128,
                             "output_len": 64, "tp": 1, "pp": 1, "precision": "fp16",
                             "kv_precision": None}],
              "slo": {"ttft_s": 0.5, "tpot_s": 0.05},
              "budgets": {"area_mm2": 826.0, "memory_fit": True},
              "objectives": ["throughput_per_chip", "tokens_per_s_per_mm2"],
              "baselines": ["a100", "h100", "h200"],
              "search": {"backend": "pymoo", "pop_size": 8, "generations": 3, "seed": seed}}
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (run / "space.yaml").write_text(yaml.safe_dump(
        {"name": "test", "base": "ador-hetero", "knobs": KNOBS}, sort_keys=False))
    (run / "summary.json").write_text(json.dumps(
        {"name": name, "backend": "pymoo", "seed": seed, "evaluations": n,
         "pareto": len(pareto), "elapsed_s": 1.25}))
    return run
