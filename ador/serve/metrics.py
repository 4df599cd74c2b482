"""Latency, throughput, SLO attainment and occupancy figures of a simulated run."""

from __future__ import annotations

import numpy as np

from ador.metrics import (
    E2E,
    ITL,
    LATENCY_STATS,
    NORMALIZED_LATENCY,
    OUTPUT_THROUGHPUT,
    PER_REQUEST,
    QUEUEING,
    REQUEST_THROUGHPUT,
    SLO_ATTAINMENT,
    TPOT,
    TTFT,
    Metric,
    per_chip,
    summary_key,
)
from ador.serve.results import RequestRecords, TimeSeries


def per_request(r: RequestRecords) -> dict[str, np.ndarray]:
    """TTFT, TPOT, E2E, normalized latency and queueing delay of each request (NaN for
    rejected requests; TPOT also for one-token outputs)."""
    ok = ~r.rejected
    last = np.full(r.n, np.nan)
    nonempty = r.token_offsets[1:] > r.token_offsets[:-1]
    last[nonempty] = r.token_times_s[r.token_offsets[1:][nonempty] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(r.output_tokens > 1, (last - r.first_token_s) / (r.output_tokens - 1),
                        np.nan)
        e2e = r.finish_s - r.arrival_s
        out = {
            TTFT.column: r.first_token_s - r.arrival_s,
            TPOT.column: tpot,
            E2E.column: e2e,
            NORMALIZED_LATENCY.column: e2e / r.output_tokens,
            QUEUEING.column: r.start_s - r.arrival_s,
        }
    return {k: np.where(ok, v, np.nan) for k, v in out.items()}


def inter_token(r: RequestRecords) -> np.ndarray:
    """Gaps between consecutive tokens of the same request (flat)."""
    gaps = np.diff(r.token_times_s)
    starts = r.token_offsets[1:-1] - 1  # gap index across a request boundary
    mask = np.ones(gaps.shape[0], dtype=bool)
    mask[starts[(starts >= 0) & (starts < gaps.shape[0])]] = False
    return gaps[mask & np.isfinite(gaps)]


def _stats(m: Metric, x: np.ndarray, out: dict) -> None:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return
    qs = [q for _, q in LATENCY_STATS if q is not None]
    values = dict(zip(qs, np.percentile(x, qs), strict=True))
    for stat, q in LATENCY_STATS:
        out[summary_key(m, stat)] = float(np.mean(x) if q is None else values[q])


def attainment(per: dict[str, np.ndarray], *, ttft_slo_s: float, tpot_slo_s: float,
               rejected: np.ndarray) -> float:
    """Share of all requests (rejected ones count as misses) meeting both SLOs."""
    tpot = np.nan_to_num(per[TPOT.column], nan=0.0)
    ok = (per[TTFT.column] <= ttft_slo_s) & (tpot <= tpot_slo_s) & ~rejected
    return float(np.mean(ok))


def summarize(r: RequestRecords, ts: TimeSeries, *, chips: int, ttft_slo_s: float | None = None,
              tpot_slo_s: float | None = None) -> dict[str, float]:
    per = per_request(r)
    out: dict[str, float] = {}
    for m in PER_REQUEST:
        _stats(m, per[m.column], out)
    _stats(ITL, inter_token(r), out)
    ok = ~r.rejected
    done = int(ok.sum())
    if done:
        t0 = float(np.min(r.arrival_s[ok]))
        span = float(np.max(r.finish_s[ok])) - t0
        out_tok = float(r.output_tokens[ok].sum())
        in_tok = float(r.prompt_tokens[ok].sum())
        if span > 0:
            out["makespan_s"] = span
            out[OUTPUT_THROUGHPUT.column] = out_tok / span
            out["total_throughput_tok_per_s"] = (out_tok + in_tok) / span
            out[REQUEST_THROUGHPUT.column] = done / span
            out[per_chip(OUTPUT_THROUGHPUT)] = out_tok / span / chips
            out[per_chip(REQUEST_THROUGHPUT)] = done / span / chips
            out["busy_fraction"] = float(ts.busy_s.sum()) / span
    out["completed"] = float(done)
    out["rejected"] = float(r.rejected.sum())
    out["preemptions"] = float(r.preemptions.sum())
    if ts.t_s.size:
        w = ts.busy_s / max(float(ts.busy_s.sum()), 1e-300)
        occ = ts.kv_used_tokens / np.maximum(ts.kv_capacity_tokens, 1)
        out["kv_occupancy_mean"] = float(np.sum(occ * w))
        out["kv_occupancy_max"] = float(occ.max())
        out["batch_size_mean"] = float(np.sum(ts.batch_size * w))
        out["batch_size_max"] = float(ts.batch_size.max())
        out["iterations"] = float(ts.t_s.size)
    if ttft_slo_s is not None and tpot_slo_s is not None:
        out[SLO_ATTAINMENT.column] = attainment(per, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s,
                                           rejected=r.rejected)
    return out
