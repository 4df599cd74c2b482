"""The report of a policy comparison folder (``ador policies``): which hardware each serving
policy favours, as a goodput-per-chip table and figures in one offline HTML page."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from ador.errors import AdorError
from ador.metrics import TPOT, TTFT
from ador.report import policy_data as data
from ador.report import policy_figures as figs
from ador.report.html import Section
from ador.report.serving_report import sections_page
from ador.serve.policy_runfolder import PolicyRun


@dataclass
class PolicyReport:
    run: PolicyRun
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def figures(self) -> dict[str, go.Figure]:
        return {s.key: s.figure for s in self.sections}


def _add(report: PolicyReport, key: str, title: str, *, caption: str, make) -> None:
    try:
        report.sections.append(Section(key, title, caption, make()))
    except AdorError as err:
        report.notes.append(f"{title} left out: {err.message()}")


def build_policy_report(run: PolicyRun) -> PolicyReport:
    """Every figure the folder's files allow, with a note for each one left out."""
    report = PolicyReport(run)
    grid = run.summary.get("grid", {})
    hw = run.hardware
    slo = {TTFT.name: grid.get("ttft_slo_s"), TPOT.name: grid.get("tpot_slo_s")}
    _add(report, "goodput", "Goodput per chip",
         caption="Highest request rate per chip at which the target share of requests meets "
         "both SLOs (DistServe goodput), for each policy on each hardware at the same chip "
         "count.", make=lambda: figs.goodput_bars(data.goodput_bars(run.goodput, hw)))
    _add(report, "attainment", "SLO attainment versus rate",
         caption="Share of requests meeting both SLOs at rates around each configuration's "
         "goodput; the dashed line is the target share.",
         make=lambda: figs.attainment_curves(data.attainment_curves(run.rates, hw),
                                             target=grid.get("attainment")))
    _add(report, "latency", "TTFT and TPOT percentiles at the goodput",
         caption="Bars: p90; whiskers from p50 to p99; dashed: the SLO.",
         make=lambda: figs.latency_percentiles(
             data.latency_percentiles(run.rates, hw),
             slo_s={k: v for k, v in slo.items() if isinstance(v, (int, float))}))
    _add(report, "pools", "Pool utilisation at the goodput",
         caption="Share of the run each pool (or each phase's worker) is busy.",
         make=lambda: figs.pool_bars(data.pool_utilisation(run.rates, hw), "busy_fraction",
                                     title="Pool utilisation at the goodput", axis="busy"))
    _add(report, "kv", "KV cache occupancy at the goodput",
         caption="Peak share of each pool's KV cache in use.",
         make=lambda: figs.pool_bars(data.kv_occupancy(run.rates, hw), "kv_peak_fraction",
                                     title="KV cache peak occupancy at the goodput",
                                     axis="KV cache used (peak)"))
    return report


def _cell(v: float, fmt: str) -> str:
    return "–" if not isinstance(v, (int, float)) or math.isnan(v) else fmt.format(v)


def _table_html(frame: pd.DataFrame, fmt: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ["policy", *frame.columns])
    body = "".join("<tr><td>" + html.escape(str(p)) + "</td>" + "".join(
        f"<td>{_cell(v, fmt)}</td>" for v in row) + "</tr>" for p, row in frame.iterrows())
    return f"<div class='tablewrap'><table><tr>{head}</tr>{body}</table></div>"


def goodput_tables_html(run: PolicyRun) -> str:
    """The goodput-per-chip table, its ratios to the first hardware and the best hardware
    of each policy."""
    t = data.goodput_table(run.goodput, hardware=run.hardware,
                           policies=list(dict.fromkeys(run.goodput["policy"])))
    best = "; ".join(f"{html.escape(str(p))}: {html.escape(str(h))}"
                     for p, h in t["best"].items())
    return ("<section id='table'><h2>Goodput per chip (requests/s)</h2>"
            + _table_html(t["per_chip"], "{:.2f}")
            + f"<h2>Relative to {html.escape(str(t['baseline']))}</h2>"
            + _table_html(t["relative"], "{:.2f}")
            + f"<p class='caption'>Best hardware per policy: {best}</p></section>")


def _facts(run: PolicyRun) -> list[tuple[str, str]]:
    s = run.summary
    grid = s.get("grid", {})
    wl = s.get("workload", {}) if isinstance(s.get("workload"), dict) else {}
    hw = [f"{h.get('label')} ({h.get('prefill')}" + ("" if h.get("prefill") == h.get("decode")
                                                      else f" + {h.get('decode')}") + ")"
          for h in grid.get("hardware", []) if isinstance(h, dict)]
    return [("model", str(s.get("model"))), ("workload", str(wl.get("name"))),
            ("requests", str(s.get("num_requests"))),
            ("chips per configuration", str(grid.get("chips"))),
            ("SLOs", f"TTFT {grid.get('ttft_slo_s')} s, TPOT {grid.get('tpot_slo_s')} s, "
                     f"attainment {grid.get('attainment')}"),
            ("hardware", "; ".join(hw)), ("policies", ", ".join(grid.get("policies", [])))]


def render_policy_html(report: PolicyReport) -> str:
    run = report.run
    try:
        tables = goodput_tables_html(run)
    except AdorError as err:
        tables = ""
        report.notes.append(f"goodput table left out: {err.message()}")
    return sections_page(heading="Serving policies by hardware", title="ador policy report",
                         run_name=run.name, run_path=str(run.path), facts=_facts(run),
                         sections=report.sections, notes=report.notes, tables=tables)


__all__ = ["PolicyReport", "build_policy_report", "goodput_tables_html", "render_policy_html"]
