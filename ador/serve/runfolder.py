"""Serving run folders: what one ``ador serve`` wrote, in a layout ``ador report`` reads back.

Layout of ``results/serve-<workload>-<YYYYMMDD-HHMMSS>/`` (file names are stable; later
versions add files and columns, never rename or remove them)::

    config.yaml      the run (ServingRunConfig): hardware, model, tp, pp, precision, the
                     resolved workload (overrides applied) and the scheduler
    summary.json     ``kind`` ("serving"), ``hardware``, ``model``, ``workload``, ``tp``,
                     ``pp``, ``precision``, ``chips``, ``scheduler``, ``num_requests``,
                     ``summary`` (metric -> SI value, as ``ServingResult.summary``),
                     ``limits``, ``rejected`` {count, reasons}, ``slo`` {ttft_s, tpot_s}
                     when given, ``goodput`` and ``capacity`` when searched,
                     ``elapsed_s``, ``files``
    requests.csv     one row per request: id, arrival_s, start_s, first_token_s, finish_s,
                     prompt_tokens, output_tokens, preemptions, rejected (0/1), queueing_s,
                     ttft_s, tpot_s, e2e_s, normalized_latency_s (empty where a rejected
                     request has no value)
    timeseries.csv   one row per iteration: t_s (its end), batch_size, prefill_tokens,
                     decode_tokens, kv_used_tokens, kv_capacity_tokens, busy_s,
                     instance (which serving instance ran it, from 0)
    itl_quantiles.csv  quantile (0 to 1, 1001 points), itl_s: the distribution of the times
                     between consecutive tokens of a request over all requests
    rates.csv        (with a rate sweep, e.g. ``--goodput``) one row per simulated rate:
                     rate_per_s, slo_attainment, ttft/tpot/e2e mean, p50, p90, p99 in
                     seconds, output_throughput_tok_per_s
    token_times.csv  (with ``--token-times``) every output token: id (request), token
                     (0 = first), t_s

Run folders are created once and never overwritten (``ador.runfolders``); every
file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ador.metrics import E2E, ITL, NORMALIZED_LATENCY, QUEUEING, TPOT, TTFT
from ador.runfolders import create_run_folder, read_csv, read_summary, write_csv, write_json
from ador.spec.io import dump_yaml, write_text_atomic

KIND = "serving"
FILES = {"config": "config.yaml", "summary": "summary.json", "requests": "requests.csv",
         "timeseries": "timeseries.csv", "itl_quantiles": "itl_quantiles.csv", "rates": "rates.csv",
         "tokens": "token_times.csv"}
ITL_QUANTILES = np.linspace(0.0, 1.0, 1001)


def request_table(result: Any) -> pd.DataFrame:
    """Per-request rows of a ServingResult (the requests.csv columns)."""
    from ador.serve.metrics import per_request

    r = result.requests
    per = per_request(r)
    return pd.DataFrame({
        "id": np.arange(r.n), "arrival_s": r.arrival_s, "start_s": r.start_s,
        "first_token_s": r.first_token_s, "finish_s": r.finish_s,
        "prompt_tokens": r.prompt_tokens, "output_tokens": r.output_tokens,
        "preemptions": r.preemptions, "rejected": r.rejected.astype(np.int64),
        **{m.column: per[m.column] for m in (QUEUEING, TTFT, TPOT, E2E, NORMALIZED_LATENCY)},
    })


def token_table(result: Any) -> pd.DataFrame:
    """Every output token: request id, token index (0 = first token) and time (s)."""
    r = result.requests
    counts = np.diff(r.token_offsets)
    ids = np.repeat(np.arange(r.n), counts)
    index = np.arange(r.token_times_s.size) - np.repeat(r.token_offsets[:-1], counts)
    return pd.DataFrame({"id": ids, "token": index, "t_s": r.token_times_s})


def timeseries_table(result: Any, power_w: list[float] | None = None) -> pd.DataFrame:
    """One row per iteration; ``power_w`` (per chip, W) is added when given."""
    ts = result.timeseries
    frame = pd.DataFrame({f.name: getattr(ts, f.name) for f in fields(ts)
                          if getattr(ts, f.name) is not None})
    if power_w is not None and len(power_w) == len(frame):
        frame["power_w"] = power_w
    return frame


def itl_table(result: Any) -> pd.DataFrame:
    """Quantiles of the inter-token gaps (empty when no request produced two tokens)."""
    from ador.serve.metrics import inter_token

    gaps = inter_token(result.requests)
    if gaps.size == 0:
        return pd.DataFrame({"quantile": [], ITL.column: []})
    return pd.DataFrame({"quantile": ITL_QUANTILES,
                         ITL.column: np.quantile(gaps, ITL_QUANTILES)})


@dataclass(frozen=True)
class RunFacts:
    """What summary.json says about the run besides the simulated figures."""
    hardware: str
    model: str
    workload: str
    tp: int
    pp: int
    precision: str
    num_requests: int
    slo: dict | None = None
    goodput: dict | None = None
    capacity: dict | None = None
    board_power: dict | None = None  # without the per-iteration list (in timeseries.csv)
    elapsed_s: float | None = None


def write_serving_run(out_dir: Path, *, name: str, config: Any, result: Any, facts: RunFacts,
                      rates: pd.DataFrame | None = None, token_times: bool = False,
                      power_w: list[float] | None = None,
                      now: datetime | None = None) -> Path:
    """Create ``out_dir/<name>-<timestamp>`` and write every file of the run; returns it.
    ``token_times`` also writes every output token's time (large for long traces)."""
    folder = create_run_folder(out_dir, name, now=now)
    write_text_atomic(folder / FILES["config"], dump_yaml(
        config, header="Serving run: hardware, model, parallelism, workload and scheduler."))
    write_csv(folder / FILES["requests"], request_table(result))
    write_csv(folder / FILES["timeseries"], timeseries_table(result, power_w))
    write_csv(folder / FILES["itl_quantiles"], itl_table(result))
    files = [FILES[k] for k in ("config", "summary", "requests", "timeseries", "itl_quantiles")]
    if rates is not None and not rates.empty:
        write_csv(folder / FILES["rates"], rates)
        files.append(FILES["rates"])
    if token_times:
        write_csv(folder / FILES["tokens"], token_table(result))
        files.append(FILES["tokens"])
    data = result.to_json_dict()
    write_json(folder / FILES["summary"], {
        "kind": KIND, **facts.__dict__, "chips": data["chips"], "scheduler": data["scheduler"],
        "summary": data["summary"], "limits": data["limits"], "rejected": data["rejected"],
        "files": files})
    return folder


# ------------------------------------------------------------------------ reading ----
@dataclass(frozen=True)
class ServingRun:
    path: Path
    summary: dict
    requests: pd.DataFrame
    timeseries: pd.DataFrame
    itl: pd.DataFrame
    rates: pd.DataFrame

    @property
    def name(self) -> str:
        return self.path.name


def is_serving_run(path: str | Path) -> bool:
    """True when ``path`` is a folder whose summary.json says it is a serving run."""
    import json

    summary = Path(path) / FILES["summary"]
    if not summary.is_file():
        return False
    try:
        return json.loads(summary.read_text(encoding="utf-8")).get("kind") == KIND
    except (ValueError, OSError, AttributeError):
        return False


def _csv(path: Path, *, required: bool) -> pd.DataFrame:
    return read_csv(path, missing=f"not a serving run folder: {path.name} is missing"
                    if required else None)


def load_serving_run(path: str | Path) -> ServingRun:
    """Read a folder written by :func:`write_serving_run` (one-line AdorError otherwise)."""

    root = Path(path)
    summary = read_summary(root, FILES["summary"])
    return ServingRun(path=root, summary=summary,
                      requests=_csv(root / FILES["requests"], required=True),
                      timeseries=_csv(root / FILES["timeseries"], required=True),
                      itl=_csv(root / FILES["itl_quantiles"], required=False),
                      rates=_csv(root / FILES["rates"], required=False))
