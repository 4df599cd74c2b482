"""Data steps of the report's figures: pure functions from plain DataFrames / dicts (a run
folder's CSVs, a Breakdown or its JSON, area and validation JSON) to the DataFrames or dicts
that ``ador.report.figures`` draws. Nothing here imports plotly or evaluates the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ador.errors import AdorError
from ador.evaluate.results import VECTOR_UNIT
from ador.metrics import METRICS as ALL_METRICS
from ador.metrics import Metric
from ador.search.hypervolume import pareto_mask
from ador.units import format_quantity
from ador.workload.operators import OpClass

# --------------------------------------------------------------------------- metrics ----
# A plottable column is a metric of the registry: name, column, axis title, scale and unit.
METRICS: dict[str, Metric] = {m.name: m for m in ALL_METRICS}
BY_COLUMN: dict[str, Metric] = {m.column: m for m in ALL_METRICS}


def available_metrics(columns) -> list[str]:
    """Metric names whose column is present in ``columns``."""
    cols = set(columns)
    return [m.name for m in METRICS.values() if m.column in cols]


def resolve_metric(name: str, columns, *, field: str = "objective") -> Metric:
    """The metric for an objective name (``tpot``), its column (``tpot_s``) or the search's
    objective column (``obj_tpot``); raises AdorError when unknown or not in ``columns``."""
    cols = set(columns)
    key = name.strip()
    if key.startswith("obj_"):
        key = key[len("obj_"):]
    metric = METRICS.get(key) or BY_COLUMN.get(key)
    if metric is None and key in cols:
        metric = Metric(key, key, key.replace("_", " "), "", fmt="{:.4g}")
    known = ", ".join(available_metrics(cols))
    if metric is None:
        raise AdorError(f"unknown objective (rule: one of {known})", field=field, value=name)
    if metric.column not in cols:
        raise AdorError(f"objective '{metric.name}' is not in this run: no column "
                        f"'{metric.column}' (rule: one of {known})", field=field, value=name)
    return metric


KNOB_UNITS = {"bytes": ("B", True), "bytes_per_s": ("B/s", False), "hz": ("Hz", False),
              "s": ("s", False), "w": ("W", False)}


def format_value(value: Any, unit: str | None = None) -> str:
    """A knob or metric value for hover text: SI prefixes where the unit is known."""
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return "n/a"
    if unit in KNOB_UNITS and isinstance(value, (int, float, np.integer, np.floating)):
        symbol, binary = KNOB_UNITS[unit]
        return format_quantity(float(value), symbol, binary=binary)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def _metric_text(metric: Metric, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{metric.title}: n/a"
    unit = f" {metric.unit}" if metric.unit else ""
    return f"{metric.title}: {value * metric.scale:.4g}{unit}"


# ------------------------------------------------------------------------ baselines ----
def aggregate_baselines(baselines: pd.DataFrame) -> pd.DataFrame:
    """One row per baseline: with several scenarios, each metric combines as the search
    combines designs (ador.metrics); other columns take the first scenario."""
    if baselines.empty or "baseline" not in baselines.columns:
        return baselines.copy()
    if not baselines["baseline"].duplicated().any():
        return baselines.reset_index(drop=True)
    rows = []
    for name, group in baselines.groupby("baseline", sort=False):
        row: dict[str, Any] = {"baseline": name}
        for col in group.columns:
            if col == "baseline":
                continue
            values = group[col]
            m = BY_COLUMN.get(col)
            if m is None:
                row[col] = values.iloc[0]
            else:
                v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
                row[col] = float(m.combined(v[:, None])[0])
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------- Pareto scatter ----
SCATTER_GROUPS = ("infeasible", "explored", "pareto", "baseline")


def front_of_axes(designs: pd.DataFrame, axes: list[Metric]) -> set[str]:
    """Ids of the feasible designs that no other feasible design beats on the plotted axes
    (the front a reader sees; the run's Pareto set is over all its objectives)."""
    if any(m.column not in designs.columns for m in axes):
        return set()
    d = designs
    if "feasible" in d.columns:
        d = d[d["feasible"].astype(bool)]
    F = np.column_stack([m.objective_value(pd.to_numeric(d[m.column], errors="coerce")
                                           .to_numpy(dtype=float)) for m in axes])
    ok = np.all(np.isfinite(F), axis=1)
    if not ok.any():
        return set()
    ids = d["id"].astype(str).to_numpy()[ok]
    return set(ids[pareto_mask(F[ok])])


def pareto_scatter_data(designs: pd.DataFrame, pareto: pd.DataFrame, baselines: pd.DataFrame,
                        *, axes: list[Metric], knobs: Sequence[str] = (),
                        knob_units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Points of the Pareto scatter: one row per design and per baseline.

    Columns: ``group`` (infeasible / explored / pareto: the front of the plotted axes /
    baseline), ``label`` (design id or
    baseline name), ``x``, ``y`` (and ``z`` with three axes) in display units, and
    ``hover`` (id, knobs and the plotted metrics). Rows missing an axis value are dropped.
    """
    knob_units = dict(knob_units or {})
    coords = ("x", "y", "z")[:len(axes)]
    pareto_ids = front_of_axes(designs, axes) if not designs.empty else set()
    frames = []
    if not designs.empty:
        d = designs.copy()
        feasible = d["feasible"].astype(bool) if "feasible" in d.columns else True
        d["group"] = np.where(d["id"].isin(pareto_ids), "pareto",
                              np.where(feasible, "explored", "infeasible"))
        d["label"] = d["id"].astype(str)
        d["hover"] = [_design_hover(row, axes=axes, knobs=knobs, knob_units=knob_units)
                      for row in d.to_dict("records")]
        frames.append(d)
    b = aggregate_baselines(baselines)
    if not b.empty and "baseline" in b.columns:
        b = b.copy()
        b["group"] = "baseline"
        b["label"] = b["baseline"].astype(str).str.upper()
        b["hover"] = [_baseline_hover(row, axes) for row in b.to_dict("records")]
        frames.append(b)
    out_cols = ["group", "label", *coords, "hover"]
    if not frames:
        return pd.DataFrame(columns=out_cols)
    rows = []
    for f in frames:
        part = pd.DataFrame({"group": f["group"].values, "label": f["label"].values,
                             "hover": f["hover"].values})
        for c, m in zip(coords, axes, strict=False):
            values = f[m.column] if m.column in f.columns else np.nan
            part[c] = pd.to_numeric(pd.Series(values, index=f.index), errors="coerce"
                                    ).values * m.scale
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)[out_cols]
    out = out.dropna(subset=list(coords)).reset_index(drop=True)
    order = {g: i for i, g in enumerate(SCATTER_GROUPS)}
    return out.sort_values("group", key=lambda s: s.map(order), kind="stable"
                           ).reset_index(drop=True)


def _design_hover(row: dict, *, axes: list[Metric], knobs, knob_units) -> str:
    lines = [f"<b>{row['id']}</b>" + ("" if row.get("feasible", 1) else " (infeasible)")]
    lines += [_metric_text(m, row.get(m.column, np.nan)) for m in axes]
    lines += [f"{k}: {format_value(row.get(k), knob_units.get(k))}" for k in knobs if k in row]
    return "<br>".join(lines)


def _baseline_hover(row: dict, axes: list[Metric]) -> str:
    head = f"<b>{str(row['baseline']).upper()}</b> (baseline"
    tp = row.get("tp")
    if isinstance(tp, (int, float, np.number)) and not math.isnan(tp):
        head += f", tp {int(tp)}"
    feasible = row.get("feasible")
    if isinstance(feasible, (int, float, np.number)) and feasible == 0:
        head += ", misses a constraint of the problem"
    head += ")"
    return "<br>".join([head] + [_metric_text(m, row.get(m.column, np.nan)) for m in axes])


# ------------------------------------------------------------- parallel coordinates ----
def parallel_coordinates_data(pareto: pd.DataFrame, knobs: list[str], color: Metric | None,
                              *, knob_units: Mapping[str, str] | None = None) -> dict:
    """Dimensions of a parallel-coordinates plot of the Pareto designs' knobs.

    Returns ``{"dimensions": [{"label", "values", "range", "tickvals"?, "ticktext"?}],
    "color": [...] or None, "color_title": str, "ids": [...]}``. Text knobs become integer
    codes with tick labels; constant knobs get a padded range so that they draw as a line.
    """
    knob_units = dict(knob_units or {})
    dims = []
    for k in knobs:
        if k not in pareto.columns:
            continue
        col = pareto[k]
        numeric = pd.to_numeric(col, errors="coerce")
        unit = knob_units.get(k)
        if numeric.notna().all() and len(col):
            values = numeric.astype(float)
            lo, hi = float(values.min()), float(values.max())
            pad = abs(lo) * 0.05 or 1.0
            rng = [lo, hi] if hi > lo else [lo - pad, hi + pad]
            dim: dict[str, Any] = {"label": k, "values": values.tolist(), "range": rng}
            ticks = sorted(set(values.tolist()))
            if len(ticks) <= 8:  # label the values taken, not a generic scale
                dim["tickvals"] = ticks
                dim["ticktext"] = [format_value(t, unit) for t in ticks]
        else:
            labels = sorted(col.astype(str).unique())
            codes = col.astype(str).map({v: i for i, v in enumerate(labels)})
            dim = {"label": k, "values": codes.astype(float).tolist(),
                   "range": [-0.5, len(labels) - 0.5], "tickvals": list(range(len(labels))),
                   "ticktext": labels}
        dims.append(dim)
    colour = None
    if color is not None and color.column in pareto.columns:
        colour = (pd.to_numeric(pareto[color.column], errors="coerce") * color.scale).tolist()
    return {"dimensions": dims, "color": colour,
            "color_title": f"{color.title} [{color.unit}]" if color and color.unit else (
                color.title if color else ""),
            "ids": pareto["id"].astype(str).tolist() if "id" in pareto.columns else []}


# ---------------------------------------------------------------------- hypervolume ----
def hypervolume_data(hv: pd.DataFrame) -> pd.DataFrame:
    """Hypervolume after each batch: columns ``evaluations``, ``hypervolume`` (and
    ``feasible`` when present), sorted by evaluations; rows with missing values dropped."""
    missing = [c for c in ("evaluations", "hypervolume") if c not in hv.columns]
    if missing:
        raise AdorError(f"hypervolume table lacks column(s) {', '.join(missing)}",
                        field="hypervolume.csv", value=list(hv.columns))
    cols = [c for c in ("evaluations", "feasible", "hypervolume") if c in hv.columns]
    out = hv[cols].apply(pd.to_numeric, errors="coerce").dropna(
        subset=["evaluations", "hypervolume"])
    return out.sort_values("evaluations").reset_index(drop=True)


# -------------------------------------------------------------- latency breakdown ----
def _as_json(b: Any) -> dict:
    """A Breakdown, or its ``ador evaluate --json`` object, as that JSON object."""
    if isinstance(b, Mapping):
        return dict(b)
    from ador.evaluate.breakdown import to_json

    return to_json(b)


def latency_breakdown_data(breakdowns: Mapping[str, Any]) -> pd.DataFrame:
    """Time by operator class of each design's prefill pass and decode step.

    ``breakdowns`` maps a display label to a Breakdown or its JSON. Columns: ``design``,
    ``stage`` (prefill / decode), ``op_class``, ``time_s`` and ``share`` of the stage's
    class total; one row per (design, stage, class) in input order.
    """
    rows = []
    for label, b in breakdowns.items():
        j = _as_json(b)
        for stage in ("prefill", "decode"):
            times = j["breakdown"][stage]["time_by_class_s"]
            total = sum(times.values()) or 1.0
            for cls, t in times.items():
                rows.append({"design": label, "stage": stage, "op_class": cls,
                             "time_s": float(t), "share": float(t) / total})
    return pd.DataFrame(rows, columns=["design", "stage", "op_class", "time_s", "share"])


# ------------------------------------------------------------------------ roofline ----
MATRIX_CLASSES = (OpClass.GEMM.value, OpClass.ATTENTION.value)
VECTOR_CLASSES = (OpClass.VECTOR.value,)
PANELS = {"matrix": "matrix units (systolic arrays, MAC trees)", "vector": "vector unit"}


def unit_peaks(hardware: Any, precision: Any = "fp16") -> dict:
    """Per-chip peak rates of a hardware spec: FLOP/s of each unit kind at ``precision``
    (2 FLOPs per MAC; vector units one op per lane per cycle) and HBM bytes/s."""
    from ador.evaluate.efficiency import unit_peaks as peaks_of

    return peaks_of(hardware, precision)


def roofline_data(breakdown: Any, peaks: Mapping[str, Any]) -> dict:
    """Rooflines per unit class and the operators placed on them.

    ``peaks`` is :func:`unit_peaks`'s dict. Returns ``{"roofs": DataFrame(panel, unit,
    peak_flops_s, hbm_bytes_s, ridge), "points": DataFrame(panel, stage, name, op_class,
    intensity, flops_s, time_s, bound)}``. Matrix operators (GEMM, attention) go on the
    matrix panel, whose roofs are the systolic arrays, the MAC trees and (when both exist)
    the two together; vector operators on the vector unit. Intensity is FLOPs per HBM byte;
    operators without FLOPs or HBM traffic are left out.
    """
    flops = dict(peaks["flops_per_s"])
    bw = float(peaks["hbm_bytes_per_s"])
    roofs = []
    matrix_units = [u for u, f in flops.items() if u != VECTOR_UNIT and f > 0]
    for u in matrix_units:
        roofs.append(("matrix", u.replace("_", " "), flops[u]))
    if len(matrix_units) >= 2:
        roofs.append(("matrix", "all matrix units" if len(matrix_units) > 2 else
                      "both matrix units", sum(flops[u] for u in matrix_units)))
    if flops.get(VECTOR_UNIT, 0) > 0:
        roofs.append(("vector", "vector unit", flops[VECTOR_UNIT]))
    roof_df = pd.DataFrame(
        [{"panel": p, "unit": u, "peak_flops_s": f, "hbm_bytes_s": bw, "ridge": f / bw}
         for p, u, f in roofs], columns=["panel", "unit", "peak_flops_s", "hbm_bytes_s", "ridge"])
    j = _as_json(breakdown)
    points = []
    for op in j["breakdown"]["operators"]:
        cls = op["class"]
        panel = "matrix" if cls in MATRIX_CLASSES else "vector" if cls in VECTOR_CLASSES else None
        if panel is None or op["flops"] <= 0 or op["hbm_bytes"] <= 0 or op["time_s"] <= 0:
            continue
        points.append({"panel": panel, "stage": op["stage"], "name": op["name"],
                       "op_class": cls, "intensity": op["flops"] / op["hbm_bytes"],
                       "flops_s": op["flops"] / op["time_s"], "time_s": op["time_s"],
                       "bound": op["bound"]})
    point_df = pd.DataFrame(points, columns=["panel", "stage", "name", "op_class", "intensity",
                                             "flops_s", "time_s", "bound"])
    return {"roofs": roof_df, "points": point_df, "hardware": peaks.get("name", "")}


# -------------------------------------------------------------- area and power ----
def _is_area_json(obj: Any) -> bool:
    return isinstance(obj, Mapping) and any(
        k in obj for k in ("components", "area_mm2", "power_w", "peak_power_w"))


def area_power_data(area: Mapping[str, Any]) -> pd.DataFrame:
    """Area and power by component of one or several designs.

    ``area`` is the JSON of ``ador area HW --json`` (``{"hardware", "area_mm2": {part: mm²},
    "peak_power_w": {part: W}}``), a ``{"components": [{"name", "area_mm2", "power_w"}]}``
    list, or a mapping display label -> either of those. Totals (``total``) are left out.
    Columns: ``design``, ``component``, ``area_mm2``, ``power_w`` (NaN where absent).
    """
    items = ({str(area.get("hardware", "design")): area} if _is_area_json(area)
             else dict(area))
    out = []
    for label, one in items.items():
        if not _is_area_json(one):
            raise AdorError("area data needs area_mm2 / peak_power_w mappings or a "
                            "components list", field=str(label), value=sorted(one)[:6]
                            if isinstance(one, Mapping) else one)
        rows: dict[str, dict[str, float]] = {}
        comps = one.get("components")
        if isinstance(comps, list):
            for c in comps:
                name = str(c.get("name") or c.get("component") or c.get("unit"))
                rows.setdefault(name, {})
                for key in ("area_mm2", "power_w"):
                    if c.get(key) is not None:
                        rows[name][key] = float(c[key])
        for key, sources in (("area_mm2", ("area_mm2",)), ("power_w", ("power_w",
                                                                        "peak_power_w"))):
            for src_key in sources:
                src = one.get(src_key)
                if isinstance(src, Mapping):
                    for name, v in src.items():
                        if isinstance(v, (int, float)) and not isinstance(v, bool):
                            rows.setdefault(str(name), {})[key] = float(v)
        for name, v in rows.items():
            if name.lower() in ("total", "sum"):
                continue
            out.append({"design": str(label), "component": name,
                        "area_mm2": v.get("area_mm2", np.nan),
                        "power_w": v.get("power_w", np.nan)})
    return pd.DataFrame(out, columns=["design", "component", "area_mm2", "power_w"])


# ---------------------------------------------------------------------- validation ----
def confirmation_rows(confirmed: pd.DataFrame) -> list[dict]:
    """A serving search's confirmed designs as parity rows for :func:`validation_data`:
    one per design and serving metric, the estimate as ``predicted`` and the simulator as
    ``measured`` (columns ``est:<column>`` and ``sim:<column>`` of confirmed.csv)."""
    rows = []
    for m in ALL_METRICS:
        est, sim = f"est:{m.column}", f"sim:{m.column}"
        if not m.serving or est not in confirmed.columns or sim not in confirmed.columns:
            continue
        for _, r in confirmed.iterrows():
            rows.append({"id": r["id"], "metric": m.title, "predicted": r[est],
                         "measured": r[sim]})
    return rows


def validation_data(rows: Any, *, band: float = 0.10) -> dict:
    """Predicted vs measured points and the ±``band`` lines of a log-log parity plot.

    ``rows``: a list of dicts or a DataFrame with ``id``, ``predicted``, ``measured`` (and
    ``ape``, recomputed when missing), or ``ador validate --json``'s object holding them
    under ``rows``. Non-positive values cannot go on log axes and are dropped. Returns
    ``{"points": DataFrame(id, predicted, measured, ape, within, label, + extra columns),
    "line": [lo, hi], "band": band, "mape": float, "within_share": float}``.
    """
    if isinstance(rows, Mapping):
        rows = rows.get("rows", rows.get("results", []))
    df = pd.DataFrame(rows).copy()
    for col in ("id", "predicted", "measured"):
        if col not in df.columns:
            raise AdorError("validation rows need id, predicted and measured",
                            field=col, value=list(df.columns))
    df["predicted"] = pd.to_numeric(df["predicted"], errors="coerce")
    df["measured"] = pd.to_numeric(df["measured"], errors="coerce")
    df = df[(df["predicted"] > 0) & (df["measured"] > 0)].reset_index(drop=True)
    ape = (df["predicted"] - df["measured"]).abs() / df["measured"]
    if "ape" not in df.columns:
        df["ape"] = ape
    else:
        df["ape"] = pd.to_numeric(df["ape"], errors="coerce").fillna(ape)
    df["within"] = ape <= band + 1e-12
    label = df["id"].astype(str)
    for extra in ("metric", "hardware"):
        if extra in df.columns:
            label = label + " · " + df[extra].astype(str)
    df["label"] = label
    if df.empty:
        lo, hi = 1.0, 10.0
    else:
        lo = float(min(df["predicted"].min(), df["measured"].min())) / 1.5
        hi = float(max(df["predicted"].max(), df["measured"].max())) * 1.5
    return {"points": df, "line": [lo, hi], "band": band,
            "mape": float(ape.mean()) if len(df) else float("nan"),
            "within_share": float(df["within"].mean()) if len(df) else float("nan")}
