"""The report page: which figures a run folder gives, and that the page is self-contained."""

from __future__ import annotations

import re

from ador.report.html import build_report, default_axes, highlighted_designs, render_html
from ador.report.run import load_run
from tests.report.synthetic import make_run

VALIDATION = [{"id": "a", "predicted": 1.0, "measured": 1.05},
              {"id": "b", "predicted": 2.0, "measured": 1.5}]
AREA = {"components": [{"name": "systolic arrays", "area_mm2": 120.0, "power_w": 80.0},
                       {"name": "sram", "area_mm2": 60.0, "power_w": 20.0}]}


def test_full_report_has_every_figure_and_one_embedded_plotly(tmp_path):
    run = load_run(make_run(tmp_path))
    report = build_report(run, validation=VALIDATION, area=AREA)
    assert [s.key for s in report.sections] == ["pareto", "pareto3d", "knobs", "hypervolume",
                                                "latency", "roofline", "area", "validation"]
    assert report.notes == []
    for s in report.sections:
        assert s.figure.data, s.key
    page = render_html(report)
    # plotly.js inline exactly once; nothing fetched from a CDN
    assert page.count("Plotly.newPlot") == 8
    assert len(re.findall(r"<script[^>]*\bsrc=", page)) == 0
    assert page.count("window.PlotlyConfig") == 1
    assert page.count("* plotly.js v") == 1  # the library's banner
    assert "<h2>Pareto designs</h2>" in page and "64 MiB" in page


def test_axes_and_highlighted_designs_follow_the_objectives(tmp_path):
    run = load_run(make_run(tmp_path))
    # the objectives, then the first other objective metric present (rates before costs)
    assert [m.name for m in default_axes(run, 3)] == [
        "throughput_per_chip", "tokens_per_s_per_mm2", "ttft"]
    best = highlighted_designs(run)
    p = run.pareto.set_index("id")
    assert best[0][0] == p["throughput_per_chip_tok_s"].idxmax()
    assert best[0][1] == "best throughput per chip"
    assert len({i for i, _ in best}) == len(best) <= 3


def test_report_without_optional_files_notes_what_is_missing(tmp_path):
    folder = make_run(tmp_path)
    (folder / "hypervolume.csv").unlink()
    (folder / "pareto" / "d00009.yaml").unlink() if (folder / "pareto" / "d00009.yaml"
                                                     ).exists() else None
    (folder / "config.yaml").write_text("scenarios: [{model: no-such-model}]\n")
    report = build_report(load_run(folder))
    keys = [s.key for s in report.sections]
    assert "hypervolume" not in keys and "latency" not in keys and "pareto" in keys
    assert any("scenario cannot be read" in n for n in report.notes)
    assert "Notes" in render_html(report)
