"""Figure steps: plotly figures drawn from the data steps of ``ador.report.figdata``.

Each function takes what its data step returned and only draws; all numbers are decided
there, so the figures need no tests of their own beyond "has traces with points".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ador.report.figdata import PANELS, Metric

TEMPLATE = "plotly_white"
FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13, color="#222")
GROUP_STYLE: dict[str, dict[str, Any]] = {
    "infeasible": dict(name="infeasible", color="rgba(190,190,190,0.45)", size=5,
                       symbol="x-thin", line=dict(width=1, color="rgba(170,170,170,0.6)")),
    "explored": dict(name="explored (feasible)", color="rgba(99,136,189,0.45)", size=6,
                     symbol="circle", line=dict(width=0)),
    "pareto": dict(name="Pareto designs", color="#d9480f", size=10, symbol="circle",
                   line=dict(width=1, color="white")),
    "baseline": dict(name="GPU baselines", color="#111", size=14, symbol="diamond",
                     line=dict(width=1.5, color="white")),
}
CLASS_COLORS = {"gemm": "#4263eb", "attention": "#d9480f", "vector": "#2b8a3e",
                "memory": "#ae3ec9", "collective": "#f59f00"}
STAGE_COLORS = {"prefill": "#1c7ed6", "decode": "#e8590c"}
STAGE_SYMBOLS = {"prefill": "circle", "decode": "diamond"}


def _layout(fig: go.Figure, title: str, *, height: int = 520, **kw: Any) -> go.Figure:
    fig.update_layout(template=TEMPLATE, font=FONT, height=height,
                      title=dict(text=title, x=0.01, xanchor="left", font=dict(size=17)),
                      margin=dict(l=70, r=30, t=70, b=60),
                      legend=dict(bgcolor="rgba(255,255,255,0.8)"), **kw)
    return fig


def _log_axis(values: pd.Series, ratio: float = 30.0) -> bool:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(v)) and bool((v > 0).all()) and float(v.max() / v.min()) > ratio


# ------------------------------------------------------------------- Pareto scatter ----
def pareto_scatter(data: pd.DataFrame, axes: list[Metric], *, title: str = "") -> go.Figure:
    """2-D (two axes) or 3-D (three axes) scatter of designs, Pareto set and baselines."""
    three_d = len(axes) == 3
    fig = go.Figure()
    for group, style in GROUP_STYLE.items():
        part = data[data["group"] == group]
        if part.empty:
            continue
        color = style["color"]
        if three_d and group in ("explored", "infeasible"):  # small markers need contrast
            color = color.replace("0.45", "0.8")
        marker = dict(color=color, size=style["size"] * (0.7 if three_d else 1),
                      symbol=style["symbol"] if not three_d or style["symbol"] in (
                          "circle", "diamond", "x") else "circle", line=style["line"])
        baseline = group == "baseline"
        common = dict(name=style["name"], hovertext=part["hover"], hoverinfo="text",
                      hoverlabel=dict(align="left"),
                      mode="markers+text" if baseline else "markers",
                      text=part["label"] if baseline else None,
                      textposition="top center", textfont=dict(size=13, color="#111"),
                      marker=marker)
        if three_d:
            fig.add_trace(go.Scatter3d(x=part["x"], y=part["y"], z=part["z"], **common))
        else:
            fig.add_trace(go.Scatter(x=part["x"], y=part["y"], **common))
    name = title or "Pareto designs: " + " vs ".join(a.title for a in axes)
    if three_d:
        scene = {f"{c}axis": dict(title=dict(text=f"{a.title} [{a.unit}]" if a.unit else a.title),
                                  type="log" if _log_axis(data[c], 300.0) else "linear")
                 for c, a in zip("xyz", axes, strict=False)}
        _layout(fig, name, height=640, scene=scene,
                scene_camera=dict(eye=dict(x=1.6, y=1.6, z=0.9)))
    else:
        _layout(fig, name)
        fig.update_xaxes(title_text=axes[0].axis_title,
                         type="log" if _log_axis(data["x"]) else "linear")
        fig.update_yaxes(title_text=axes[1].axis_title,
                         type="log" if _log_axis(data["y"]) else "linear")
    return fig


# ------------------------------------------------------------- parallel coordinates ----
def parallel_coordinates(pc: dict, *, title: str = "Knobs of the Pareto designs") -> go.Figure:
    dims = []
    for d in pc["dimensions"]:
        dim = {"label": d["label"], "values": d["values"], "range": d["range"]}
        if "tickvals" in d:
            dim["tickvals"], dim["ticktext"] = d["tickvals"], d["ticktext"]
        dims.append(dim)
    line: dict[str, Any] = {"color": "#d9480f"}
    if pc.get("color"):
        line = dict(color=pc["color"], colorscale="Viridis", showscale=True,
                    colorbar=dict(title=dict(text=pc.get("color_title", ""), side="right")))
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line,
                                 labelfont=dict(size=12), tickfont=dict(size=11)))
    _layout(fig, f"{title} ({len(pc.get('ids', []))} designs)", height=480)
    fig.update_layout(margin=dict(l=70, r=70, t=110, b=40))
    return fig


# ---------------------------------------------------------------------- hypervolume ----
def hypervolume(hv: pd.DataFrame, *, title: str = "Hypervolume of the feasible front") -> go.Figure:
    fig = go.Figure(go.Scatter(x=hv["evaluations"], y=hv["hypervolume"], mode="lines+markers",
                               line=dict(color="#4263eb", width=2.5, shape="hv"),
                               marker=dict(size=6), name="hypervolume",
                               hovertemplate="%{x} evaluations<br>hypervolume %{y:.4f}"
                                             "<extra></extra>"))
    _layout(fig, title, height=420, showlegend=False)
    fig.update_xaxes(title_text="designs evaluated", rangemode="tozero")
    fig.update_yaxes(title_text="hypervolume (normalised; higher is better)", rangemode="tozero")
    return fig


# -------------------------------------------------------------- latency breakdown ----
def latency_breakdown(df: pd.DataFrame, *, title: str = "Where the time goes") -> go.Figure:
    """Stacked bars per operator class: prefill pass (left) and one decode step (right)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("prefill pass (time to first token)",
                                        "one decode step (time per output token)"))
    classes = list(dict.fromkeys(df["op_class"]))
    for col, stage in enumerate(("prefill", "decode"), start=1):
        part = df[df["stage"] == stage]
        for cls in classes:
            rows = part[part["op_class"] == cls]
            fig.add_trace(go.Bar(
                x=rows["design"], y=rows["time_s"] * 1e3, name=cls,
                marker_color=CLASS_COLORS.get(cls), legendgroup=cls, showlegend=col == 1,
                customdata=np.c_[rows["share"] * 100],
                hovertemplate=f"{cls}: %{{y:.3g}} ms (%{{customdata[0]:.1f}}%)<extra>"
                              f"%{{x}}</extra>"), row=1, col=col)
        fig.update_yaxes(title_text="milliseconds", row=1, col=col)
    _layout(fig, title, height=480, barmode="stack", legend_title_text="operator class")
    return fig


# ------------------------------------------------------------------------ roofline ----
def roofline(rd: dict, *, title: str = "") -> go.Figure:
    """Log-log rooflines, one panel per unit class group, with the operators on them."""
    roofs, points = rd["roofs"], rd["points"]
    panels = [p for p in PANELS if p in set(roofs["panel"])]
    fig = make_subplots(rows=1, cols=max(len(panels), 1), horizontal_spacing=0.09,
                        subplot_titles=[PANELS[p] for p in panels])
    dash = ("solid", "dash", "dot")
    roof_colors = ("#343a40", "#868e96", "#adb5bd")
    for col, panel in enumerate(panels, start=1):
        r = roofs[roofs["panel"] == panel]
        p = points[points["panel"] == panel]
        xs = list(p["intensity"]) + list(r["ridge"])
        lo = min(xs) / 4 if xs else 0.1
        hi = max(xs) * 4 if xs else 1e4
        for i, roof in enumerate(r.itertuples()):
            x = np.geomspace(lo, hi, 60)
            y = np.minimum(roof.peak_flops_s, x * roof.hbm_bytes_s) / 1e12
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines", name=f"roof: {roof.unit}",
                line=dict(color=roof_colors[i % 3], dash=dash[i % 3], width=2),
                hovertemplate=f"{roof.unit}: peak {roof.peak_flops_s / 1e12:.4g} TFLOP/s, "
                              f"ridge at {roof.ridge:.3g} FLOP/B<extra></extra>"),
                row=1, col=col)
        for stage in ("prefill", "decode"):
            s = p[p["stage"] == stage]
            if s.empty:
                continue
            fig.add_trace(go.Scatter(
                x=s["intensity"], y=s["flops_s"] / 1e12, mode="markers", name=stage,
                legendgroup=stage, showlegend=col == 1,
                marker=dict(color=STAGE_COLORS[stage], symbol=STAGE_SYMBOLS[stage], size=10,
                            line=dict(width=1, color="white")),
                customdata=np.c_[s["name"], s["op_class"], s["time_s"] * 1e3, s["bound"]],
                hovertemplate="<b>%{customdata[0]}</b> (%{customdata[1]}, " + stage + ")<br>"
                              "%{x:.3g} FLOP/B, %{y:.4g} TFLOP/s<br>%{customdata[2]:.3g} ms, "
                              "%{customdata[3]}-bound<extra></extra>"), row=1, col=col)
        fig.update_xaxes(type="log", title_text="arithmetic intensity [FLOP/byte of HBM]",
                         row=1, col=col)
        fig.update_yaxes(type="log", title_text="achieved [TFLOP/s]" if col == 1 else None,
                         row=1, col=col)
    name = title or f"Roofline of {rd.get('hardware', 'the design')} (per chip)"
    _layout(fig, name, height=500)
    return fig


# -------------------------------------------------------------- area and power ----
COMPONENT_COLORS = ("#4263eb", "#e8590c", "#2b8a3e", "#ae3ec9", "#f59f00", "#1098ad",
                    "#c92a2a", "#5c940d", "#862e9c", "#495057", "#d6336c", "#364fc7",
                    "#a61e4d", "#087f5b")


def area_power(df: pd.DataFrame, *, title: str = "Area and power by component") -> go.Figure:
    """Stacked bars per design: die area (left) and peak power (right) by component."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("die area per chip [mm²]", "peak power per chip [W]"))
    components = list(dict.fromkeys(df["component"]))
    colors = {c: COMPONENT_COLORS[i % len(COMPONENT_COLORS)] for i, c in enumerate(components)}
    shown: set[str] = set()
    for col, key in enumerate(("area_mm2", "power_w"), start=1):
        part = df.dropna(subset=[key])
        totals = part.groupby("design", sort=False)[key].sum()
        for comp in components:
            rows = part[part["component"] == comp]
            if rows.empty:
                continue
            share = rows[key].values / totals.loc[rows["design"]].values
            fig.add_trace(go.Bar(
                x=rows["design"], y=rows[key], name=comp.replace("_", " "),
                marker_color=colors[comp], legendgroup=comp, showlegend=comp not in shown,
                customdata=share * 100,
                hovertemplate=comp.replace("_", " ") + ": %{y:.4g} (%{customdata:.0f}%)"
                              "<extra>%{x}</extra>"), row=1, col=col)
            shown.add(comp)
        fig.add_trace(go.Scatter(x=list(totals.index), y=list(totals.values), mode="text",
                                 text=[f"{v:.0f}" for v in totals.values],
                                 textposition="top center", showlegend=False,
                                 hoverinfo="skip"), row=1, col=col)
        fig.update_yaxes(range=[0, float(totals.max()) * 1.12 if len(totals) else 1],
                         row=1, col=col)
    _layout(fig, title, height=520, barmode="stack", legend_title_text="component")
    return fig


# ---------------------------------------------------------------------- validation ----
def validation(vd: dict, *, title: str = "Predicted vs measured") -> go.Figure:
    pts = vd["points"]
    lo, hi = vd["line"]
    band = vd["band"]
    x = np.geomspace(lo, hi, 50)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[x * (1 + band), (x * (1 - band))[::-1]],
                             fill="toself", fillcolor="rgba(66,99,235,0.12)",
                             line=dict(width=0), hoverinfo="skip",
                             name=f"±{band:.0%} band"))
    fig.add_trace(go.Scatter(x=x, y=x, mode="lines", line=dict(color="#4263eb", dash="dash"),
                             name="predicted = measured", hoverinfo="skip"))
    for within, color, label in ((True, "#2b8a3e", f"within ±{band:.0%}"),
                                 (False, "#c92a2a", f"outside ±{band:.0%}")):
        part = pts[pts["within"] == within]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["measured"], y=part["predicted"], mode="markers", name=label,
            marker=dict(color=color, size=9, line=dict(width=1, color="white")),
            customdata=np.c_[part["label"], part["ape"] * 100],
            hovertemplate="<b>%{customdata[0]}</b><br>measured %{x:.4g}<br>predicted %{y:.4g}"
                          "<br>error %{customdata[1]:.1f}%<extra></extra>"))
    mape = vd.get("mape")
    sub = "" if mape is None or math.isnan(mape) else (
        f" — mean abs. error {mape:.1%}, {vd['within_share']:.0%} within ±{band:.0%}")
    _layout(fig, title + sub, height=520)
    fig.update_xaxes(type="log", title_text="measured", range=[math.log10(lo), math.log10(hi)])
    fig.update_yaxes(type="log", title_text="predicted", range=[math.log10(lo), math.log10(hi)],
                     scaleanchor="x", scaleratio=1)
    return fig
