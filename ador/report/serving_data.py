"""Data steps of the serving report: every number a serving figure shows, decided here.

Each function takes the frames of a serving run folder (``ador.serve.runfolder``) and
returns plain DataFrames or dicts; ``ador.report.serving_figures`` only draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.metrics import ITL, SLO_ATTAINMENT, TPOT, TTFT, summary_key

MAX_POINTS = 2000
LATENCY_STATS = ("p50", "p90", "p99")


def cdf_data(values, *, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Empirical CDF of the finite values: columns x (sorted) and p (share <= x), at most
    ``max_points`` points (evenly spaced in p; the smallest and largest always kept)."""
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    x = np.sort(x[np.isfinite(x)])
    if x.size == 0:
        return pd.DataFrame({"x": [], "p": []})
    p = np.arange(1, x.size + 1) / x.size
    if x.size > max_points:
        keep = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(np.int64))
        x, p = x[keep], p[keep]
    return pd.DataFrame({"x": x, "p": p})


def latency_cdfs(requests: pd.DataFrame, itl: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """CDFs of time to first token (per request) and time between tokens (the run's
    inter-token quantiles); a missing column leaves that curve out."""
    out: dict[str, pd.DataFrame] = {}
    if TTFT.column in requests.columns:
        out[TTFT.name] = cdf_data(requests[TTFT.column])
    if {"quantile", ITL.column} <= set(itl.columns) and not itl.empty:
        out["tbt"] = pd.DataFrame({"x": itl[ITL.column].to_numpy(dtype=np.float64),
                                   "p": itl["quantile"].to_numpy(dtype=np.float64)})
    if not any(len(v) for v in out.values()):
        raise AdorError("no request has a first-token time or two tokens", field=TTFT.column)
    return out


def timeseries_data(ts: pd.DataFrame, *, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Batch size and KV occupancy over time. Iterations are averaged over equal time bins
    (weighted by their duration) when there are more than ``max_points`` of them or several
    instances; with several instances the batch sizes and token counts add up and the KV
    occupancy is the instances' mean. Columns: t_s, batch_size, kv_occupancy (0 to 1),
    prefill_tokens, decode_tokens."""
    need = {"t_s", "batch_size", "kv_used_tokens", "kv_capacity_tokens"}
    if not need <= set(ts.columns):
        raise AdorError("timeseries.csv lacks columns", field=",".join(sorted(need)),
                        value=list(ts.columns))
    t = ts["t_s"].to_numpy(dtype=np.float64)
    occ = ts["kv_used_tokens"].to_numpy(np.float64) / np.maximum(
        ts["kv_capacity_tokens"].to_numpy(np.float64), 1.0)
    cols = {"batch_size": ts["batch_size"].to_numpy(np.float64), "kv_occupancy": occ}
    for c in ("prefill_tokens", "decode_tokens"):
        if c in ts.columns:
            cols[c] = ts[c].to_numpy(np.float64)
    inst = (ts["instance"].fillna(0).to_numpy(np.int64) if "instance" in ts.columns
            else np.zeros(t.size, dtype=np.int64))
    k = int(inst.max()) + 1 if inst.size else 1
    if t.size <= max_points and k == 1:
        return pd.DataFrame({"t_s": t, **cols})
    w = ts["busy_s"].to_numpy(np.float64) if "busy_s" in ts.columns else np.ones_like(t)
    bins = min(max_points, max(t.size // k, 1))
    edges = np.linspace(t.min(), t.max(), bins + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1)
    out: dict[str, np.ndarray] = {"t_s": 0.5 * (edges[:-1] + edges[1:])}
    sums = {name: np.zeros(bins) for name in cols}
    seen = np.zeros(bins)
    for i in range(k):
        mine = inst == i
        wsum = np.bincount(idx[mine], weights=w[mine], minlength=bins)
        has = wsum > 0
        seen += has
        for name, v in cols.items():
            mean = np.bincount(idx[mine], weights=(v * w)[mine], minlength=bins)
            sums[name][has] += mean[has] / wsum[has]
    keep = seen > 0
    for name in cols:
        out[name] = sums[name][keep] / (seen[keep] if name == "kv_occupancy" else 1.0)
    out["t_s"] = out["t_s"][keep]
    return pd.DataFrame(out)


def rate_curves(rates: pd.DataFrame) -> dict:
    """Latency percentiles and SLO attainment against the request rate.

    Returns ``{"latency": DataFrame(rate_per_s, metric, stat, value_s),
    "attainment": DataFrame(rate_per_s, slo_attainment)}``, sorted by rate."""
    if rates.empty or "rate_per_s" not in rates.columns:
        raise AdorError("the run has no rate sweep (run 'ador serve' with --goodput or --sweep)",
                        field="rates.csv")
    r = rates.sort_values("rate_per_s")
    rows = []
    for m in (TTFT, TPOT):
        for stat in LATENCY_STATS:
            col = summary_key(m, stat)
            if col in r.columns:
                rows.append(pd.DataFrame({"rate_per_s": r["rate_per_s"], "metric": m.name,
                                          "stat": stat, "value_s": r[col]}))
    latency = (pd.concat(rows, ignore_index=True) if rows else
               pd.DataFrame(columns=["rate_per_s", "metric", "stat", "value_s"]))
    cols = ["rate_per_s", SLO_ATTAINMENT.column]
    att = (r[cols].dropna() if SLO_ATTAINMENT.column in r.columns
           else pd.DataFrame(columns=cols))
    return {"latency": latency.dropna().reset_index(drop=True),
            "attainment": att.reset_index(drop=True)}
