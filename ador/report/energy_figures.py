"""Power and energy per token versus batch size: predicted curves and measured rows.

Data step :func:`energy_vs_batch_data` takes the predicted curves
(ador.validation.energy.energy_curves) and the rows of an energy validation
(ador.validation.energy.energy_to_json) and returns the tables to draw; the figure step
:func:`energy_vs_batch` only draws them.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ador.report.figures import FONT, TEMPLATE

PANELS = (("avg_power_per_gpu", "avg_power_w", "power per GPU (W)"),
          ("energy_per_output_token", "energy_per_output_token_j",
           "energy per output token (J)"))
COLORS = ("#1c7ed6", "#e8590c", "#2b8a3e", "#ae3ec9", "#f59f00")


def energy_vs_batch_data(curves: list[dict], validation_rows: list[dict]) -> dict:
    """``curve``: one row per (series, cap) with avg_power_w, energy_per_output_token_j,
    limit_w, idle_w; ``points``: measured and simulated values per (series, cap, metric)."""
    curve = pd.DataFrame(curves)
    if not curve.empty:
        curve["series"] = (curve["hardware"] + " " + curve["model"] + " tp"
                           + curve["tp"].astype(str))
    pts = pd.DataFrame([
        {"series": f"{r['hardware']} {r['model']} tp{r['tp']}", "max_num_seqs": r["max_num_seqs"],
         "metric": r["metric"], "measured": r["measured"], "predicted": r["predicted"]}
        for r in validation_rows if r["metric"] in {p[0] for p in PANELS}],
        columns=["series", "max_num_seqs", "metric", "measured", "predicted"])
    return {"curve": curve, "points": pts}


def energy_vs_batch(data: dict, *, title: str = "Power and energy per token vs batch") -> go.Figure:
    curve, pts = data["curve"], data["points"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[p[2] for p in PANELS])
    series = sorted(set(curve.get("series", pd.Series(dtype=str))) | set(pts["series"]))
    for k, name in enumerate(series):
        color = COLORS[k % len(COLORS)]
        c = curve[curve["series"] == name] if not curve.empty else curve
        for col, (metric, key, _) in enumerate(PANELS, start=1):
            if not c.empty:
                fig.add_trace(go.Scatter(x=c["max_num_seqs"], y=c[key], mode="lines",
                                         line=dict(color=color), name=f"{name} model",
                                         legendgroup=name, showlegend=col == 1), 1, col)
                if metric == "avg_power_per_gpu" and c["limit_w"].notna().any():
                    fig.add_trace(go.Scatter(x=c["max_num_seqs"], y=c["limit_w"], mode="lines",
                                             line=dict(color=color, dash="dot"),
                                             name=f"{name} board limit", legendgroup=name,
                                             showlegend=True), 1, col)
            p = pts[(pts["series"] == name) & (pts["metric"] == metric)]
            if not p.empty:
                fig.add_trace(go.Scatter(x=p["max_num_seqs"], y=p["measured"], mode="markers",
                                         marker=dict(color=color, size=10, symbol="diamond"),
                                         name=f"{name} measured", legendgroup=name,
                                         showlegend=col == 1), 1, col)
                fig.add_trace(go.Scatter(x=p["max_num_seqs"], y=p["predicted"],
                                         mode="markers", marker=dict(color=color, size=8,
                                                                     symbol="circle-open"),
                                         name=f"{name} simulated", legendgroup=name,
                                         showlegend=col == 1), 1, col)
    fig.update_layout(template=TEMPLATE, font=FONT, height=520, title=dict(text=title, x=0.01))
    fig.update_xaxes(type="log", title_text="batch cap (max_num_seqs)")
    fig.update_yaxes(type="log", row=1, col=2)
    return fig
