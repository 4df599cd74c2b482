"""Rich tables of a serving run (the CLI prints these; the figures come from the simulation)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.table import Table

from ador.metrics import (
    E2E,
    ENERGY_PER_REQUEST,
    ITL,
    LATENCY_STATS,
    NORMALIZED_LATENCY,
    OUTPUT_THROUGHPUT,
    QUEUEING,
    REQUEST_THROUGHPUT,
    SLO_ATTAINMENT,
    TPOT,
    TTFT,
    per_chip,
    summary_key,
)
from ador.units import format_quantity

LATENCIES = (TTFT, TPOT, ITL, E2E, NORMALIZED_LATENCY, QUEUEING)  # rows, in this order
STATS = tuple(stat for stat, _ in LATENCY_STATS)


def _s(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else \
        format_quantity(float(x), "s")


def _n(x: Any, fmt: str = ",.1f", suffix: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{float(x):{fmt}}{suffix}"


def latency_table(summary: Mapping[str, Any], *, title: str) -> Table:
    t = Table(title=title)
    t.add_column("latency")
    for s in STATS:
        t.add_column(s, justify="right")
    for m in LATENCIES:
        if any(summary_key(m, s) in summary for s in STATS):
            t.add_row(m.title, *(_s(summary.get(summary_key(m, s))) for s in STATS))
    return t


def throughput_table(run: Mapping[str, Any]) -> Table:
    s = run["summary"]
    chips = run["chips"]
    t = Table(title="throughput, utilisation and KV cache")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("output tokens", _n(s.get(OUTPUT_THROUGHPUT.column), suffix=" tok/s"))
    t.add_row(f"output tokens per chip ({chips} chip{'' if chips == 1 else 's'})",
              _n(s.get(per_chip(OUTPUT_THROUGHPUT)), suffix=" tok/s"))
    t.add_row("all tokens (prompt + output)",
              _n(s.get("total_throughput_tok_per_s"), suffix=" tok/s"))
    t.add_row("requests", _n(s.get(REQUEST_THROUGHPUT.column), ",.3f", " req/s"))
    t.add_row("completed / rejected requests",
              f"{_n(s.get('completed'), ',.0f')} / {run['rejected']['count']:,}")
    t.add_row("preemptions", _n(s.get("preemptions"), ",.0f"))
    t.add_row("busy share of the run", _n(s.get("busy_fraction"), ".1%"))
    t.add_row("matrix-unit / HBM-bandwidth utilisation",
              f"{_n(s.get('compute_utilisation'), '.1%')} / "
              f"{_n(s.get('hbm_bandwidth_utilisation'), '.1%')}")
    t.add_row("batch size mean / max", f"{_n(s.get('batch_size_mean'))} / "
                                       f"{_n(s.get('batch_size_max'), ',.0f')}")
    t.add_row("KV occupancy mean / max", f"{_n(s.get('kv_occupancy_mean'), '.1%')} / "
                                         f"{_n(s.get('kv_occupancy_max'), '.1%')}")
    kv = run.get("limits", {}).get("kv_capacity_tokens")
    if kv is not None:
        t.add_row("KV capacity", _n(kv, ",.0f", " tokens"))
    t.add_row("makespan", _s(s.get("makespan_s")))
    power = run.get("board_power")
    if power:
        limit = power.get("board_power_limit_w")
        over = limit is not None and (power.get("average_power_w") or 0.0) > limit
        t.add_row("average power per chip" + (f" (board limit {limit:,.0f} W)" if limit else ""),
                  _n(power.get("average_power_w"), ",.0f", " W") + (" (over)" if over else ""))
        t.add_row("energy per output token / per request",
                  f"{_n(power.get('energy_per_output_token_j'), '.4g', ' J')} / "
                  f"{_n(power.get(ENERGY_PER_REQUEST.column), '.4g', ' J')}")
    if run.get("slo"):
        slo = run["slo"]
        t.add_row(f"SLO attainment ({TTFT.name} <= {_s(slo[TTFT.column])}, "
                  f"{TPOT.name} <= {_s(slo[TPOT.column])})",
                  _n(s.get(SLO_ATTAINMENT.column), ".1%"))
    if run.get("goodput"):
        g = run["goodput"]
        t.add_row(f"goodput ({g['attainment']:.0%} attainment)",
                  f"{g['rate_per_s']:.3g} req/s ({g['rate_per_s_per_chip']:.3g} per chip, "
                  f"{g['simulations']} simulations)")
    if run.get("capacity"):
        c = run["capacity"]
        t.add_row(f"capacity (P99 TBT <= {_s(c['tbt_p99_slo_s'])}, median queueing < "
                  f"{_s(c['max_queue_median_s'])})",
                  f"{c['rate_per_s']:.3g} req/s ({c['rate_per_s_per_chip']:.3g} per chip)")
    return t


def serving_view(run: Mapping[str, Any]) -> Group:
    """Latency percentiles, throughput and the rejected requests of a run's JSON."""
    inst = run.get("instances", 1)
    title = (f"{run['model']} on {run['hardware']} (tp {run['tp']}, pp {run['pp']}, "
             f"{run['precision']}{f', {inst} instances' if inst > 1 else ''}), "
             f"{run['scheduler']} scheduler: {run['num_requests']:,} "
             f"requests, {run['workload_text']}")
    parts: list[Any] = [latency_table(run["summary"], title=title), throughput_table(run)]
    reasons = run["rejected"].get("reasons") or {}
    if run["rejected"]["count"]:
        t = Table(title=f"{run['rejected']['count']:,} requests can never run (rejected)")
        t.add_column("reason")
        t.add_column("requests", justify="right")
        for reason, count in reasons.items():
            t.add_row(str(reason), f"{count:,}")
        parts.append(t)
    return Group(*parts)
