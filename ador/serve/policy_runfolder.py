"""Policy-comparison run folders: what one ``ador policies`` wrote, in a layout that
``ador report`` reads back and that is enough to run the comparison again.

Layout of ``results/policies-<workload>-<YYYYMMDD-HHMMSS>/`` (file names are stable; later
versions add files and columns, never rename or remove them)::

    summary.json   the manifest: ``kind`` ("policies"), ``model``, ``workload`` {name,
                   spec (resolved, overrides applied), overrides}, ``num_requests``,
                   ``grid`` (hardware choices {label, prefill, decode}, policies, chips,
                   ttft_slo_s, tpot_slo_s, attainment, rate_fractions), ``clusters``
                   (the ClusterSpec of each policy and hardware), ``elapsed_s``, ``files``
    goodput.csv    one row per (policy, hardware): policy (label), policy_key, hardware,
                   prefill_hardware, decode_hardware, chips, goodput_per_s,
                   goodput_per_chip_per_s (requests/s), simulations
    rates.csv      one row per simulated rate: policy, policy_key, hardware, fraction (of
                   the goodput), rate_per_s, rate_per_chip, then the run's summary (SLO
                   attainment, latency percentiles in s, pool busy fractions, KV peaks)
    requests.csv   the requests at their base rate: arrival_s, prompt_tokens, output_tokens

Run folders are created once and never overwritten (``ador.runfolders``); every file is
written atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ador.errors import AdorError
from ador.runfolders import create_run_folder, read_csv, read_summary, write_csv, write_json
from ador.serve.policy_grid import PolicyGrid
from ador.serve.requests import RequestSet

KIND = "policies"
FILES = {"summary": "summary.json", "goodput": "goodput.csv", "rates": "rates.csv",
         "requests": "requests.csv"}


def write_policy_run(out_dir: Path, *, name: str, grid: PolicyGrid, requests: RequestSet,
                     workload: dict[str, Any], now: datetime | None = None) -> Path:
    """Create ``out_dir/<name>-<timestamp>`` and write every file of the comparison;
    ``workload`` is what the manifest says about the workload (name, spec, overrides)."""
    folder = create_run_folder(out_dir, name, now=now)
    write_csv(folder / FILES["goodput"], grid.goodput_frame())
    write_csv(folder / FILES["rates"], grid.rates_frame())
    write_csv(folder / FILES["requests"], pd.DataFrame({
        "arrival_s": requests.arrival_s, "prompt_tokens": requests.prompt_tokens,
        "output_tokens": requests.output_tokens}))
    write_json(folder / FILES["summary"], manifest(grid, workload=workload))
    return folder


def manifest(grid: PolicyGrid, *, workload: dict[str, Any]) -> dict:
    """summary.json of a comparison: what was run, enough to run it again."""
    return {"kind": KIND, "model": grid.model, "workload": workload,
            "num_requests": grid.num_requests, "grid": grid.config.to_json_dict(),
            "clusters": [{"policy": p, "hardware": h, "cluster": spec.model_dump(mode="json")}
                         for p, h, spec in grid.clusters],
            "elapsed_s": grid.elapsed_s, "files": list(FILES.values())}


@dataclass(frozen=True)
class PolicyRun:
    path: Path
    summary: dict
    goodput: pd.DataFrame
    rates: pd.DataFrame

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def hardware(self) -> list[str]:
        """Hardware labels in the grid's order."""
        labels = [h.get("label") for h in self.summary.get("grid", {}).get("hardware", [])
                  if isinstance(h, dict)]
        return [str(h) for h in labels if h] or list(dict.fromkeys(self.goodput["hardware"]))


def policy_run_of(grid: PolicyGrid, *, workload: dict[str, Any], path: Path) -> PolicyRun:
    """The PolicyRun a folder of ``grid`` would read back as, without writing it."""
    return PolicyRun(path=Path(path), summary=manifest(grid, workload=workload),
                     goodput=grid.goodput_frame(), rates=grid.rates_frame())


def _kind(path: Path) -> str | None:
    summary = path / FILES["summary"]
    if not summary.is_file():
        return None
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def is_policy_run(path: str | Path) -> bool:
    """True when ``path`` is a folder whose summary.json says it is a policy comparison."""
    return _kind(Path(path)) == KIND


def load_policy_run(path: str | Path) -> PolicyRun:
    """Read a folder written by :func:`write_policy_run` (one-line AdorError otherwise)."""
    root = Path(path)
    summary = read_summary(root, FILES["summary"])
    if not isinstance(summary, dict) or summary.get("kind") != KIND:
        raise AdorError(f"not a policy comparison (rule: summary.json has kind '{KIND}')",
                        file=str(root / FILES["summary"]), field="kind")
    goodput = read_csv(root / FILES["goodput"], missing="not a policy comparison folder: "
                       f"{FILES['goodput']} is missing")
    need = {"policy", "hardware", "goodput_per_chip_per_s"}
    if not need <= set(goodput.columns):
        raise AdorError("goodput.csv lacks columns", file=str(root / FILES["goodput"]),
                        field=",".join(sorted(need - set(goodput.columns))))
    return PolicyRun(path=root, summary=summary, goodput=goodput,
                     rates=read_csv(root / FILES["rates"]))
