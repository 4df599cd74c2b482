"""Latency and SLO attainment over a range of request rates (same requests, rescaled)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ador.metrics import (
    E2E,
    LATENCY_STATS,
    OUTPUT_THROUGHPUT,
    SLO_ATTAINMENT,
    TPOT,
    TTFT,
    summary_key,
)
from ador.serve import RequestSet, simulate

SWEEP_FACTORS = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5)
SWEPT = (TTFT, TPOT, E2E)  # latencies a rate sweep records, each by LATENCY_STATS


def sweep_rates(goodput_per_s: float, tried: Sequence[float] = ()) -> list[float]:
    """Rates around a goodput (fractions and multiples of it), or the rates a search tried
    when the goodput is 0."""
    if goodput_per_s > 0:
        return [goodput_per_s * f for f in SWEEP_FACTORS]
    return sorted({float(r) for r in tried if r > 0})


def rate_sweep(*, requests: RequestSet, rates: Sequence[float],
               progress: Callable[[float], None] | None = None,
               **sim_kwargs: Any) -> dict[str, list[float]]:
    """One simulation per rate (``sim_kwargs`` as for ``simulate``; pass ``step_model`` to
    build it once). Columns: rate_per_s, slo_attainment (NaN without SLOs),
    ``<metric>_<stat>_s`` for ttft, tpot and e2e, output_throughput_tok_per_s."""
    keys = [summary_key(m, stat) for m in SWEPT for stat, _ in LATENCY_STATS]
    out: dict[str, list[float]] = {k: [] for k in
                                   ["rate_per_s", SLO_ATTAINMENT.column, *keys,
                                    OUTPUT_THROUGHPUT.column]}
    for i, rate in enumerate(rates):
        summary = simulate(requests=requests.with_rate(rate), **sim_kwargs).summary
        out["rate_per_s"].append(float(rate))
        for k in out:
            if k != "rate_per_s":
                out[k].append(float(summary.get(k, np.nan)))
        if progress is not None:
            progress((i + 1) / len(rates))
    return out
