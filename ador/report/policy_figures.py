"""Figure steps of the policy comparison report: plotly figures drawn from the data steps
of ``ador.report.policy_data`` (goodput per chip, SLO attainment versus rate, TTFT/TPOT
percentiles at the goodput, pool utilisation and KV occupancy)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from ador.metrics import GOODPUT_PER_CHIP, SLO_ATTAINMENT, TPOT, TTFT, label
from ador.report.figures import _layout

PALETTE = qualitative.Plotly
POOL_TITLES = {"prefill": "prefill pool / worker", "decode": "decode pool / worker",
               "shared": "colocated pool (both phases)"}
LATENCY_TITLES = {TTFT.name: label(TTFT), TPOT.name: label(TPOT)}


def _colors(values) -> dict[str, str]:
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(dict.fromkeys(values))}


def goodput_bars(data: pd.DataFrame, *, title: str = "Goodput per chip") -> go.Figure:
    """Bars of goodput per chip: policies on x, one bar per hardware."""
    fig = go.Figure()
    colors = _colors(data["hardware"])
    for hw, part in data.groupby("hardware", sort=False):
        fig.add_bar(x=part["policy"], y=part[GOODPUT_PER_CHIP.column], name=str(hw),
                    marker_color=colors[hw],
                    hovertemplate="%{x}: %{y:.3g} requests/s per chip<extra>" + str(hw)
                                  + "</extra>")
    fig.update_yaxes(title_text="requests/s per chip", rangemode="tozero")
    return _layout(fig, title, height=480, barmode="group")


def attainment_curves(data: pd.DataFrame, *, target: float | None = None,
                      title: str = "SLO attainment versus rate") -> go.Figure:
    """One panel per hardware, one line per policy; ``target`` dashed."""
    hardware = list(dict.fromkeys(data["hardware"]))
    fig = make_subplots(rows=1, cols=len(hardware), subplot_titles=hardware, shared_yaxes=True,
                        horizontal_spacing=0.04)
    colors = _colors(data["policy"])
    for col, hw in enumerate(hardware, start=1):
        for policy, p in data[data["hardware"] == hw].groupby("policy", sort=False):
            fig.add_scatter(x=p["rate_per_chip"], y=p[SLO_ATTAINMENT.column], name=str(policy),
                            legendgroup=str(policy), showlegend=col == 1, mode="lines+markers",
                            line=dict(color=colors[policy]), row=1, col=col)
        if target is not None:
            fig.add_hline(y=target, line=dict(dash="dash", color="#888"), row=1, col=col)
        fig.update_xaxes(title_text="requests/s per chip", row=1, col=col)
    fig.update_yaxes(title_text="share meeting both SLOs", tickformat=".0%", range=[0, 1.02],
                     row=1, col=1)
    return _layout(fig, title, height=440)


def latency_percentiles(data: pd.DataFrame, *, slo_s: dict[str, float] | None = None,
                        title: str = "TTFT and TPOT at the goodput") -> go.Figure:
    """Per metric a panel: policies on x, a bar per hardware at p90, whiskers to p50 and
    p99; the SLO dashed."""
    metrics = list(dict.fromkeys(data["metric"]))
    fig = make_subplots(rows=1, cols=len(metrics), horizontal_spacing=0.08,
                        subplot_titles=[LATENCY_TITLES.get(m, m) for m in metrics])
    colors = _colors(data["hardware"])
    for col, metric in enumerate(metrics, start=1):
        for hw, p in data[data["metric"] == metric].groupby("hardware", sort=False):
            fig.add_bar(x=p["policy"], y=p["p90"], name=str(hw), legendgroup=str(hw),
                        showlegend=col == 1, marker_color=colors[hw],
                        error_y=dict(type="data", symmetric=False, array=p["p99"] - p["p90"],
                                     arrayminus=p["p90"] - p["p50"]),
                        customdata=p[["p50", "p99"]].to_numpy(),
                        hovertemplate="%{x}: p50 %{customdata[0]:.3g} s, p90 %{y:.3g} s, "
                                      "p99 %{customdata[1]:.3g} s<extra>" + str(hw)
                                      + "</extra>", row=1, col=col)
        if slo_s and metric in slo_s:
            fig.add_hline(y=slo_s[metric], line=dict(dash="dash", color="#888"), row=1, col=col)
        fig.update_yaxes(title_text="seconds (bar p90, whiskers p50 to p99)", rangemode="tozero",
                         row=1, col=col)
    return _layout(fig, title, height=480, barmode="group")


def pool_bars(data: pd.DataFrame, value: str, *, title: str, axis: str) -> go.Figure:
    """A panel per pool role: policies on x, a bar per hardware of ``value`` (0 to 1)."""
    pools = list(dict.fromkeys(data["pool"]))
    fig = make_subplots(rows=1, cols=len(pools), shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=[POOL_TITLES.get(p, p) for p in pools])
    colors = _colors(data["hardware"])
    for col, pool in enumerate(pools, start=1):
        for hw, p in data[data["pool"] == pool].groupby("hardware", sort=False):
            fig.add_bar(x=p["policy"], y=p[value], name=str(hw), legendgroup=str(hw),
                        showlegend=col == 1, marker_color=colors[hw], row=1, col=col)
    fig.update_yaxes(title_text=axis, tickformat=".0%", range=[0, 1.02], row=1, col=1)
    return _layout(fig, title, height=460, barmode="group")
