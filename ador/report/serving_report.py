"""The report of a serving run folder: its figures in one self-contained, offline HTML page
(plotly.js embedded once), plus an SVG/PNG of each figure."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import plotly.graph_objects as go

from ador.errors import AdorError
from ador.metrics import E2E, OUTPUT_THROUGHPUT, TPOT, TTFT, label, summary_key
from ador.report import serving_data as data
from ador.report import serving_figures as figs
from ador.report.html import CSS, PLOTLY_CONFIG, Section
from ador.serve.runfolder import ServingRun


@dataclass
class ServingReport:
    run: ServingRun
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, go.Figure]:
        return {s.key: s.figure for s in self.sections}


def _add(report: ServingReport, key: str, title: str, *, caption: str, make) -> None:
    try:
        report.sections.append(Section(key, title, caption, make()))
    except AdorError as err:
        report.notes.append(f"{title} left out: {err.message()}")


def build_serving_report(run: ServingRun) -> ServingReport:
    """Every figure the run's files allow, with a note for each one left out."""
    report = ServingReport(run)
    _add(report, "latency_cdf", "Latency distributions",
         caption="Cumulative distributions of the time to first token (per request) and of the "
         "time between consecutive tokens of a request (all requests).",
         make=lambda: figs.latency_cdfs(data.latency_cdfs(run.requests, run.itl)))
    _add(report, "timeseries", "Batch size and KV cache over time",
         caption="Running requests per iteration and the share of the KV cache in use.",
         make=lambda: figs.timeseries(data.timeseries_data(run.timeseries)))
    _add(report, "rates", "Latency and SLO attainment versus rate",
         caption="The same requests at several rates (around the goodput, or as given): TTFT and "
         "TPOT percentiles and the share of requests meeting both SLOs.",
         make=lambda: figs.rate_curves(data.rate_curves(run.rates)))
    return report


def _facts(run: ServingRun) -> list[tuple[str, str]]:
    s = run.summary
    m = s.get("summary", {})
    facts = [("hardware", f"{s.get('hardware')} (tp {s.get('tp')}, pp {s.get('pp')}, "
                          f"{s.get('precision')})"),
             ("model", str(s.get("model"))), ("workload", str(s.get("workload"))),
             ("scheduler", str(s.get("scheduler"))),
             ("requests", f"{s.get('num_requests')} ({(s.get('rejected') or {}).get('count', 0)}"
                          f" rejected)")]
    for lat in (TTFT, TPOT, E2E):
        vals = [m.get(summary_key(lat, q)) for q in ("mean", "p50", "p99")]
        if all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            facts.append((label(lat), "mean {:.4g} s, p50 {:.4g} s, p99 {:.4g} s".format(*vals)))
    thr = m.get(OUTPUT_THROUGHPUT.column)
    if isinstance(thr, (int, float)):
        facts.append(("output throughput", f"{thr:,.1f} tok/s"))
    if s.get("goodput"):
        facts.append(("goodput", f"{s['goodput']['rate_per_s']:.4g} req/s"))
    return facts


def render_serving_html(report: ServingReport) -> str:
    run = report.run
    return sections_page(heading="Serving simulation", title="ador serving report",
                         run_name=run.name, run_path=str(run.path), facts=_facts(run),
                         sections=report.sections, notes=report.notes)


def sections_page(*, heading: str, title: str, run_name: str, run_path: str,
                  facts: list[tuple[str, str]], sections: list[Section], notes: list[str],
                  tables: str = "") -> str:
    """One offline HTML page: the run's facts, ``tables`` (HTML), each section's figure
    (plotly.js embedded once) and the notes."""
    rows = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                   for k, v in facts)
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}: {html.escape(run_name)}</title>"
             f"<style>{CSS}</style></head><body><main>",
             f"<h1>{html.escape(heading)}: {html.escape(run_name)}</h1>",
             f"<p class='sub'>{html.escape(run_path)}</p>",
             f"<section id='facts'><h2>Run</h2><table class='facts'>{rows}</table></section>",
             tables]
    for i, s in enumerate(sections):
        div = s.figure.to_html(full_html=False, include_plotlyjs=(i == 0),
                               include_mathjax=False, div_id=f"fig-{s.key}",
                               config=PLOTLY_CONFIG, default_width="100%")
        parts.append(f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>"
                     f"<p class='caption'>{html.escape(s.caption)}</p>{div}</section>")
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        parts.append(f"<section id='notes'><h2>Notes</h2><ul class='notes'>{items}</ul>"
                     "</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


__all__ = ["ServingReport", "build_serving_report", "render_serving_html", "sections_page"]
