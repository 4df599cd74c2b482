"""The run report: every figure of a run folder in one self-contained, offline HTML page
(plotly.js embedded once, no CDN, no MathJax), plus an SVG/PNG of each figure.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ador.errors import AdorError
from ador.metrics import METRICS
from ador.report import figdata, figures
from ador.report.figdata import Metric
from ador.report.run import Run
from ador.report.search_tables import (
    RATIO_HEADERS,
    baseline_label,
    baseline_notes,
    budget_text,
    ratio_title,
)
from ador.units import format_quantity

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "toImageButtonOptions": {"format": "svg", "scale": 1}}
# Axes when the run names too few objectives: rates first, then costs (ador.metrics order).
FALLBACK_AXES = tuple(m.name for m in sorted(
    (m for m in METRICS if m.objective), key=lambda m: not m.higher_is_better))


@dataclass
class Section:
    key: str
    title: str
    caption: str
    figure: go.Figure


@dataclass
class Report:
    run: Run
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, go.Figure]:
        return {s.key: s.figure for s in self.sections}


# ---------------------------------------------------------------------- choices ----
def default_axes(run: Run, n: int) -> list[Metric]:
    """``n`` axes: the run's objectives first, then other metrics present in designs.csv."""
    cols = run.designs.columns
    names = [o for o in run.objectives if figdata.METRICS.get(o) and
             figdata.METRICS[o].column in cols]
    names += [m for m in FALLBACK_AXES if m not in names and figdata.METRICS[m].column in cols]
    return [figdata.METRICS[m] for m in names[:n]]


def highlighted_designs(run: Run, limit: int = 3) -> list[tuple[str, str]]:
    """(id, reason) of the Pareto designs best in each objective, without repeats."""
    p = run.pareto
    out: list[tuple[str, str]] = []
    if p.empty or "id" not in p.columns:
        return out
    for name in run.objectives:
        metric = figdata.METRICS.get(name)
        if f"obj_{name}" in p.columns:
            col, best_high = f"obj_{name}", False
        elif metric and metric.column in p.columns:
            col, best_high = metric.column, metric.higher_is_better
        else:
            continue
        values = pd.to_numeric(p[col], errors="coerce")
        if values.notna().any():
            best = str(p.loc[values.idxmax() if best_high else values.idxmin(), "id"])
            reason = f"best {metric.title if metric else name}"
            if best not in [i for i, _ in out]:
                out.append((best, reason))
    if not out:
        out.append((str(p["id"].iloc[0]), "first Pareto design"))
    return out[:limit]


# -------------------------------------------------------------------- evaluation ----
def _breakdowns(run: Run, report: Report) -> tuple[dict[str, Any], dict | None, dict]:
    """Breakdowns of the highlighted Pareto designs and the baselines on the run's first
    scenario, the unit peaks of the first design (None when nothing could be evaluated),
    and the hardware spec of every label."""
    from ador.evaluate import evaluate
    from ador.spec.io import load_hardware, load_model

    scenarios = run.config.get("scenarios") or [{}]
    try:
        from ador.spec.problem import ProblemScenario

        ps = ProblemScenario(**scenarios[0])
        model = load_model(ps.model)
    except (AdorError, ValueError, TypeError, ImportError) as err:
        report.notes.append(f"latency breakdown and roofline left out: the run's scenario "
                            f"cannot be read ({str(err).splitlines()[0]})")
        return {}, None, {}
    out: dict[str, Any] = {}
    specs: dict[str, Any] = {}
    peaks = None
    pareto = run.pareto.set_index(run.pareto["id"].astype(str))
    for design_id, reason in highlighted_designs(run):
        row = pareto.loc[design_id]
        rel = row.get("yaml") if isinstance(row.get("yaml"), str) else f"pareto/{design_id}.yaml"
        try:
            hw = load_hardware(run.path / rel, units_required=False)  # older runs: SI
            tp = int(row["tp"]) if "tp" in row and not pd.isna(row["tp"]) else ps.tp
            sc = ps.scenario(tp=tp)
            label = f"{design_id}<br>({reason})"
            specs[label] = hw
            out[label] = evaluate(hardware=hw, model=model, scenario=sc)
            if peaks is None:
                peaks = figdata.unit_peaks(hw, sc.compute_precision.value)
                peaks["name"] = f"{design_id} ({reason})"
        except (AdorError, ValueError, KeyError) as err:
            report.notes.append(f"design {design_id} left out of the breakdown: "
                                f"{str(err).splitlines()[0]}")
    b = run.baselines
    if not b.empty and "baseline" in b.columns:
        first = b
        if "scenario" in b.columns and ps.label in set(b["scenario"].astype(str)):
            first = b[b["scenario"].astype(str) == ps.label]
        for name, rows in first.groupby("baseline", sort=False):
            try:
                tp = int(rows["tp"].iloc[0]) if "tp" in rows else ps.tp
                template = str(rows["hardware"].iloc[0]) if "hardware" in rows else str(name)
                hw = load_hardware(template)
                specs[str(name).upper()] = hw
                out[str(name).upper()] = evaluate(hardware=hw, model=model,
                                                  scenario=ps.scenario(tp=tp))
            except (AdorError, ValueError) as err:
                report.notes.append(f"baseline {name} left out of the breakdown: "
                                    f"{str(err).splitlines()[0]}")
    return out, peaks, specs


def area_json(hardware: Any) -> dict:
    """Area and peak power by component of one hardware spec, as ``ador area --json``."""
    from ador.evaluate.efficiency import chip_report

    return chip_report(hardware)


# ----------------------------------------------------------------------- figures ----
def _add(report: Report, key: str, title: str, *, caption: str,
         make: Callable[[], go.Figure]) -> None:
    try:
        fig = make()
    except AdorError as err:
        report.notes.append(f"{title} left out: {err.message()}")
        return
    report.sections.append(Section(key, title, caption, fig))


def build_report(run: Run, *, validation: Any = None, area: Any = None,
                 evaluate_designs: bool = True) -> Report:
    """Every figure the run's files allow, with notes on what was left out and why.

    ``validation``: rows or JSON of ``ador validate --json``; ``area``: JSON of
    ``ador area HW --json`` (or a mapping label -> that JSON); both optional.
    """
    report = Report(run)
    if run.incomplete:
        report.notes.append("this run is incomplete: it stopped (or is still running) before "
                            "writing all its results; the files shown are those of its last "
                            "complete write")
    knobs, units = run.knobs, run.knob_units
    axes2, axes3 = default_axes(run, 2), default_axes(run, 3)
    if len(axes2) == 2:
        _add(report, "pareto", "Pareto front",
             caption="Every evaluated design; in orange the designs no other feasible design "
             "beats on these two axes, GPU baselines as black diamonds. Hover a point for its "
             "knobs.",
             make=lambda: figures.pareto_scatter(figdata.pareto_scatter_data(
                 run.designs, run.pareto, run.baselines, axes=axes2, knobs=knobs,
                 knob_units=units), axes2))
    else:
        report.notes.append("Pareto scatter left out: fewer than two metrics in designs.csv")
    if len(axes3) == 3:
        _add(report, "pareto3d", "Pareto front in three dimensions",
             caption="Drag to rotate; the same points as above with a third metric.",
             make=lambda: figures.pareto_scatter(figdata.pareto_scatter_data(
                 run.designs, run.pareto, run.baselines, axes=axes3, knobs=knobs,
                 knob_units=units), axes3))
    if not run.pareto.empty and knobs:
        color = axes2[0] if axes2 else None
        _add(report, "knobs", "Knobs of the Pareto designs",
             caption="One line per Pareto design across its knob values, coloured by "
             f"{color.title if color else 'design'}; drag along an axis to filter.",
             make=lambda: figures.parallel_coordinates(figdata.parallel_coordinates_data(
                 run.pareto, knobs, color, knob_units=units)))
    elif run.pareto.empty:
        report.notes.append("parallel coordinates, latency breakdown, roofline and area left "
                            "out: the run has no feasible Pareto designs")
    if not run.hypervolume.empty:
        _add(report, "hypervolume", "Search progress",
             caption="Hypervolume of the feasible front after each batch (normalised to the final "
             "front; flat at the end means the search has converged).",
             make=lambda: figures.hypervolume(figdata.hypervolume_data(run.hypervolume)))
    if evaluate_designs and not run.pareto.empty:
        breakdowns, peaks, specs = _breakdowns(run, report)
        if breakdowns:
            _add(report, "latency", "Latency breakdown",
                 caption="Time by operator class of the prefill pass and of one decode step, "
                 "for the best Pareto designs and the GPU baselines on the run's first "
                 "scenario.",
                 make=lambda: figures.latency_breakdown(figdata.latency_breakdown_data(breakdowns)))
        if peaks is not None:
            first = next(iter(breakdowns.values()))
            _add(report, "roofline", "Roofline",
                 caption="Each operator at its arithmetic intensity (FLOPs per HBM byte) and "
                 "achieved rate, under the peak of each unit kind and the HBM bandwidth "
                 "slope.",
                 make=lambda: figures.roofline(figdata.roofline_data(first, peaks)))
        if area is None and specs:
            try:
                area = {label: area_json(hw) for label, hw in specs.items()}
            except (ImportError, AttributeError, AdorError) as err:
                report.notes.append(f"area and power left out: the area/power model is not "
                                    f"available ({err})")
    if area is not None:
        _add(report, "area", "Area and power",
             caption="Die area and peak power per chip by component, from the area/power model.",
             make=lambda: figures.area_power(figdata.area_power_data(area)))
    if not run.confirmed.empty:
        _add(report, "confirmation", "Serving estimate against the simulator",
             caption="Each design the discrete-event simulator re-ran after the search, "
             "one point per serving metric: the analytical estimate the search ranked it by "
             "(vertical) against the simulated figure (horizontal); the shaded band is "
             "±10%. Non-positive figures (no goodput) are left out of the log axes.",
             make=lambda: figures.validation(
                 figdata.validation_data(figdata.confirmation_rows(run.confirmed)),
                 title="Estimate vs simulator"))
    if validation is not None:
        _add(report, "validation", "Model validation",
             caption="Predicted against measured values (log-log); the shaded band is ±10%.",
             make=lambda: figures.validation(figdata.validation_data(validation)))
    return report


# -------------------------------------------------------------------------- HTML ----
CSS = """
body { font-family: Inter, Helvetica, Arial, sans-serif; color: #222; margin: 0;
       background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 0 0 4px; }
.sub { color: #555; margin: 0 0 18px; }
section { background: white; border-radius: 10px; padding: 18px 20px 8px; margin: 18px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.caption { color: #555; margin: 0 0 6px; font-size: 14px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e5e7eb; text-align: right;
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f1f3f5; position: sticky; top: 0; }
.facts td { text-align: left; white-space: normal; }
.tablewrap { overflow: auto; max-height: 420px; }
.notes { color: #8a5a00; font-size: 14px; }
"""


def _facts(run: Run) -> list[tuple[str, str]]:
    facts = [("status", run.status)]
    cfg = run.config
    for sc in (cfg.get("scenarios") or [])[:4]:
        if isinstance(sc, dict):
            facts.append(("scenario", ", ".join(f"{k} {v}" for k, v in sc.items()
                                                if v not in (None, ""))))
    if run.objectives:
        facts.append(("objectives", ", ".join(run.objectives)))
    for key in ("slo", "budgets"):
        if isinstance(cfg.get(key), dict):
            facts.append((key, _limits_text(key, cfg[key])))
    n = len(run.designs)
    feasible = int(run.designs["feasible"].sum()) if "feasible" in run.designs else n
    facts.append(("designs", f"{n} evaluated, {feasible} feasible, {len(run.pareto)} on the "
                             f"Pareto front"))
    for k, v in run.summary.items():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and k not in (
                "name",):
            facts.append((k.replace("_", " "), number_text(v) if isinstance(v, float)
                          else str(v)))
    return facts


def number_text(v: float) -> str:
    """A number as people read it: ``16,051`` or ``0.3712``, never ``1.605e+04``."""
    if not math.isfinite(v):
        return "-"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    if v == 0 or abs(v) >= 1e-3:
        return f"{v:.4g}"
    return f"{v:.3e}"


def _limits_text(section: str, values: dict) -> str:
    """SLOs and budgets of a run's config.yaml in human units: 'area <= 814 mm², ...'."""
    from ador.spec.io import validate_data
    from ador.spec.problem import Budgets, Slo

    try:
        spec = validate_data(Budgets if section == "budgets" else Slo, values,
                             file="config.yaml", units_required=False)
    except AdorError:
        return ", ".join(f"{k} {v}" for k, v in values.items() if v is not None)
    if section == "budgets":
        text = budget_text(spec)
        return text + ("" if values.get("memory_fit", True) else "; memory fit not required")
    return ", ".join(f"{k.removesuffix('_s')} <= {format_quantity(v, 's')}"
                     for k, v in spec.model_dump().items() if v is not None) or "none"


def _ratio_section(run: Run) -> str:
    """The CLI's headline: for each usable baseline, the best ratio any Pareto design
    reaches (> 1: the design is better), which design, and what is left out."""
    comparison, baselines = run.comparison, run.baselines
    if comparison.empty or baselines.empty:
        return ""
    cols = [c for c in RATIO_HEADERS if c in comparison.columns]
    labels = {str(b["baseline"]): baseline_label(b) for _, b in baselines.iterrows()}
    head = "<th>vs</th>" + "".join(f"<th>{html.escape(RATIO_HEADERS[c])}</th>" for c in cols)
    body = []
    for base, group in comparison.groupby("baseline", sort=False):
        cells = []
        for c in cols:
            j = group[c].idxmax()
            cells.append(f"<td>{group.at[j, c]:.2f}x ({html.escape(str(group.at[j, 'id']))})"
                         f"</td>")
        body.append(f"<tr><td>{html.escape(labels.get(str(base), str(base)))}</td>"
                    f"{''.join(cells)}</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in baseline_notes(baselines))
    return (f"<section id='ratios'><h2>Against the baselines</h2><p class='caption'>"
            f"{html.escape(ratio_title(baselines))}</p><div class='tablewrap'><table>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
            f"{'<ul class=notes>' + notes + '</ul>' if notes else ''}</section>")


def _header(column: str) -> str:
    m = figdata.BY_COLUMN.get(column)
    if m is None:
        return column
    return m.title + (f" [{m.unit}]" if m.unit else "")


def _pareto_table(run: Run, limit: int = 200) -> str:
    p = run.pareto
    if p.empty:
        return ""
    metric_cols = [m.column for m in figdata.METRICS.values() if m.column in p.columns]
    cols = list(dict.fromkeys(["id"] + metric_cols + [k for k in run.knobs if k in p.columns]))
    units = run.knob_units
    head = "".join(f"<th>{html.escape(_header(c))}</th>" for c in cols)
    body = []
    for row in p[cols].head(limit).to_dict("records"):
        cells = []
        for c in cols:
            v = row[c]
            if c in figdata.BY_COLUMN and isinstance(v, (int, float)) and not (
                    isinstance(v, float) and math.isnan(v)):
                text = number_text(v * figdata.BY_COLUMN[c].scale)
            else:
                text = figdata.format_value(v, units.get(c))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='caption'>first {limit} of {len(p)}</p>" if len(p) > limit else ""
    return (f"<section id='pareto-table'><h2>Pareto designs</h2><div class='tablewrap'><table>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{more}"
            f"</section>")


def _confirmed_table(run: Run) -> str:
    """The simulator's confirmation of a serving search: estimate, simulation and the
    ``ador serve`` command that reproduces the simulated figures."""
    c = run.confirmed
    if c.empty:
        return ""
    pairs = [m for m in figdata.METRICS.values() if m.serving and f"sim:{m.column}" in c]
    head = "<th>design</th><th>role</th>" + "".join(
        f"<th>{html.escape(_header(m.column))}<br>estimate / simulated</th>" for m in pairs) \
        + "<th>reproduce with</th>"
    body = []
    for _, r in c.iterrows():
        cells = "".join(
            f"<td>{html.escape(_metric_pair(m, r[f'est:{m.column}'], r[f'sim:{m.column}']))}"
            f"</td>" for m in pairs)
        body.append(f"<tr><td>{html.escape(str(r['id']))}</td><td>{html.escape(str(r['role']))}"
                    f"</td>{cells}<td><code>{html.escape(str(r['command']))}</code></td></tr>")
    return (f"<section id='confirmed'><h2>Confirmed by the simulator</h2><p class='caption'>"
            f"Designs the discrete-event simulator re-ran after the search (the Pareto set and "
            f"a random sample of others); each command reproduces its simulated figures "
            f"exactly.</p><div class='tablewrap'><table><thead><tr>{head}</tr></thead><tbody>"
            f"{''.join(body)}</tbody></table></div></section>")


def _metric_pair(m: Metric, est: float, sim: float) -> str:
    return f"{number_text(est * m.scale)} / {number_text(sim * m.scale)}"


def render_html(report: Report) -> str:
    """The whole page as one string; plotly.js is embedded in the first figure only."""
    run = report.run
    facts = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                    for k, v in _facts(run))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>ador report: {html.escape(run.name)}</title><style>{CSS}</style></head>",
        "<body><main>",
        f"<h1>Design-space exploration: {html.escape(run.name)}</h1>",
        f"<p class='sub'>{html.escape(str(run.path))}</p>",
        f"<section id='facts'><h2>Run</h2><table class='facts'>{facts}</table></section>",
        _ratio_section(run),
    ]
    for i, s in enumerate(report.sections):
        div = s.figure.to_html(full_html=False, include_plotlyjs=(i == 0), include_mathjax=False,
                               div_id=f"fig-{s.key}", config=PLOTLY_CONFIG,
                               default_width="100%")
        parts.append(f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>"
                     f"<p class='caption'>{html.escape(s.caption)}</p>{div}</section>")
    parts.append(_pareto_table(run))
    parts.append(_confirmed_table(run))
    if report.notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
        parts.append(f"<section id='notes'><h2>Notes</h2><ul class='notes'>{items}</ul>"
                     f"</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)
