"""Figures comparing serving policies (``scripts/policy_hardware.py``): goodput per chip,
SLO attainment versus rate, TTFT/TPOT percentiles, pool utilisation and KV occupancy."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ador.metrics import SLO_ATTAINMENT, TPOT, TTFT, summary_key
from ador.report.figures import FONT, TEMPLATE


def goodput_bars(goodput: pd.DataFrame) -> go.Figure:
    """Goodput per chip of each policy (x) on each hardware (bars)."""
    fig = go.Figure()
    for hw, part in goodput.groupby("hardware", sort=False):
        fig.add_bar(x=part["policy"], y=part["goodput_per_chip"], name=hw)
    fig.update_layout(template=TEMPLATE, font=FONT, barmode="group",
                      title="Goodput per chip (requests/s, >= 90% meet both SLOs)",
                      yaxis_title="requests/s per chip")
    return fig


def rate_panels(runs: pd.DataFrame, hardware: str) -> go.Figure:
    """On one hardware: attainment, TTFT p90, TPOT p90 versus rate per chip; busy
    fraction and KV peak of each pool at the highest rate."""
    part = runs[runs["hardware"] == hardware]
    fig = make_subplots(rows=2, cols=3, subplot_titles=(
        "SLO attainment", "TTFT p90 (s)", "TPOT p90 (s)", "prefill / colocated busy",
        "decode busy", "KV peak occupancy (decode or colocated)"))
    for policy, p in part.groupby("policy", sort=False):
        p = p.sort_values("rate_per_chip")
        for col, key in ((1, SLO_ATTAINMENT.column), (2, summary_key(TTFT, "p90")),
                         (3, summary_key(TPOT, "p90"))):
            if key in p:
                fig.add_scatter(x=p["rate_per_chip"], y=p[key], name=policy, legendgroup=policy,
                                showlegend=col == 1, mode="lines+markers", row=1, col=col)
        last = p.iloc[-1]
        busy_p = last.get("prefill_busy_fraction", last.get("busy_fraction"))
        kv = last.get("decode_kv_peak_fraction", last.get("kv_occupancy_max"))
        for col, val in ((1, busy_p), (2, last.get("decode_busy_fraction")), (3, kv)):
            if val is not None and pd.notna(val):
                fig.add_bar(x=[policy], y=[val], name=policy, legendgroup=policy,
                            showlegend=False, row=2, col=col)
    fig.update_layout(template=TEMPLATE, font=FONT, height=760,
                      title=f"Policies on {hardware} (x: requests/s per chip)")
    return fig


def policy_report(goodput: pd.DataFrame, runs: pd.DataFrame) -> str:
    """One HTML page of the figures (plotly loaded from the page's own copy)."""
    figs = [goodput_bars(goodput)]
    if not runs.empty:
        figs += [rate_panels(runs, hw) for hw in runs["hardware"].unique()]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    return "<html><head><meta charset='utf-8'><title>Serving policies</title></head><body>" + \
        "".join(parts) + "</body></html>"
