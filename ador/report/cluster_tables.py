"""Tables of a cluster run (``ador cluster``)."""

from __future__ import annotations

import math

from rich.table import Table

from ador.metrics import (
    E2E,
    OUTPUT_THROUGHPUT,
    REQUEST_THROUGHPUT,
    SLO_ATTAINMENT,
    TPOT,
    TTFT,
    Metric,
    label,
    per_chip,
    summary_key,
)


def _latency_row(m: Metric, stats: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    return f"{label(m)} {' / '.join(stats)} (s)", tuple(summary_key(m, s) for s in stats)


ROWS = (_latency_row(TTFT, ("p50", "p90", "p99")), _latency_row(TPOT, ("mean", "p90", "p99")),
        _latency_row(E2E, ("mean", "p90")),
        ("output tokens/s (per chip)", (OUTPUT_THROUGHPUT.column, per_chip(OUTPUT_THROUGHPUT))),
        ("requests/s (per chip)", (REQUEST_THROUGHPUT.column, per_chip(REQUEST_THROUGHPUT))),
        (SLO_ATTAINMENT.title, (SLO_ATTAINMENT.column,)),
        ("prefill pool busy / KV peak", ("prefill_busy_fraction", "prefill_kv_peak_fraction")),
        ("decode pool busy / KV peak", ("decode_busy_fraction", "decode_kv_peak_fraction")),
        ("batch size mean / max", ("batch_size_mean", "batch_size_max")),
        ("preemptions / rejected", ("preemptions", "rejected")))


def cluster_view(data: dict) -> Table:
    t = Table(title=f"{data['policy']} ({data['router']}), {data['model']}, "
                    f"{data['workload']}: {data['num_requests']} requests on "
                    f"{data['chips']} chips")
    t.add_column("figure")
    t.add_column("value", justify="right")
    s = data["summary"]
    for name, keys in ROWS:
        vals = [s.get(k) for k in keys]
        if all(v is None for v in vals):
            continue
        t.add_row(name, " / ".join("-" if v is None else f"{v:.4g}" for v in vals))
    for k, v in data["limits"].items():
        t.add_row(k.replace("_", " "), f"{v:.4g}" if isinstance(v, float) else str(v))
    g = data.get("goodput")
    if g:
        t.add_row("goodput req/s (per chip)",
                  f"{g['rate_per_s']:.4g} ({g['rate_per_s_per_chip']:.4g})")
    return t


def policy_view(goodput, *, hardware: list[str] | None = None, title: str = "") -> Table:
    """Goodput per chip (requests/s) of each policy on each hardware (a ``ador policies``
    grid), with the best hardware of each policy and the ratio to the first hardware."""
    from ador.report.policy_data import goodput_table

    t = goodput_table(goodput, hardware=hardware,
                      policies=list(dict.fromkeys(goodput["policy"])))
    per_chip, rel = t["per_chip"], t["relative"]
    table = Table(title=title or "goodput per chip (requests/s); in brackets: ratio to "
                                 f"{t['baseline']}")
    table.add_column("policy")
    for hw in per_chip.columns:
        table.add_column(str(hw), justify="right")
    table.add_column("best", justify="left")
    for policy, row in per_chip.iterrows():
        cells = ["-" if v != v else f"{v:.2f}" + (
                 f" ({rel.at[policy, hw]:.2f}x)" if math.isfinite(rel.at[policy, hw]) else "")
                 for hw, v in row.items()]
        table.add_row(str(policy), *cells, str(t["best"][policy]))
    return table
