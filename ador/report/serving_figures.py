"""Figure steps of the serving report: plotly figures drawn from ``serving_data``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ador.metrics import SLO_ATTAINMENT, TPOT, TTFT, label
from ador.report.figures import _layout

CDF_STYLE = {TTFT.name: (TTFT.title, "#1c7ed6"),
             "tbt": ("time between tokens", "#e8590c")}
STAT_DASH = {"p50": "solid", "p90": "dash", "p99": "dot"}
METRIC_STYLE = {TTFT.name: (label(TTFT), "#1c7ed6"), TPOT.name: (label(TPOT), "#e8590c")}


def latency_cdfs(cdfs: dict[str, pd.DataFrame], *,
                 title: str = "Latency distributions") -> go.Figure:
    fig = make_subplots(rows=1, cols=len(cdfs), horizontal_spacing=0.1,
                        subplot_titles=[CDF_STYLE[k][0] for k in cdfs])
    for col, (key, df) in enumerate(cdfs.items(), start=1):
        label, color = CDF_STYLE[key]
        fig.add_trace(go.Scatter(x=df["x"], y=df["p"], mode="lines", name=label,
                                 line=dict(color=color, width=2.5, shape="hv"),
                                 hovertemplate="%{x:.4g} s<br>%{y:.1%} of the values below"
                                               "<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text="seconds", type="log", row=1, col=col)
        fig.update_yaxes(title_text="share (CDF)", range=[0, 1.02], tickformat=".0%",
                         row=1, col=col)
    return _layout(fig, title, height=440, showlegend=False)


def timeseries(ts: pd.DataFrame, *, title: str = "Batch size and KV cache over time"
               ) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=ts["t_s"], y=ts["batch_size"], mode="lines",
                             name="running requests", line=dict(color="#4263eb")),
                  row=1, col=1)
    fig.add_trace(go.Scatter(x=ts["t_s"], y=ts["kv_occupancy"], mode="lines",
                             name="KV occupancy", line=dict(color="#d9480f")), row=2, col=1)
    fig.update_yaxes(title_text="batch size", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="KV cache used", tickformat=".0%", range=[0, 1.02],
                     row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    return _layout(fig, title, height=560)


def rate_curves(rc: dict, *, title: str = "Latency and SLO attainment versus request rate"
                ) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("latency percentiles", "SLO attainment"))
    lat = rc["latency"]
    for (metric, stat), part in lat.groupby(["metric", "stat"], sort=False):
        label, color = METRIC_STYLE[metric]
        fig.add_trace(go.Scatter(x=part["rate_per_s"], y=part["value_s"], mode="lines+markers",
                                 name=f"{label} {stat}",
                                 line=dict(color=color, dash=STAT_DASH.get(stat, "solid"))),
                      row=1, col=1)
    att = rc["attainment"]
    if not att.empty:
        fig.add_trace(go.Scatter(x=att["rate_per_s"], y=att[SLO_ATTAINMENT.column],
                                 mode="lines+markers", name="both SLOs met",
                                 line=dict(color="#2b8a3e", width=2.5)), row=1, col=2)
    fig.update_yaxes(title_text="seconds", type="log", row=1, col=1)
    fig.update_yaxes(title_text="share of requests", tickformat=".0%", range=[0, 1.02],
                     row=1, col=2)
    fig.update_xaxes(title_text="requests per second")
    return _layout(fig, title, height=460)
