"""The HTML report in a real headless Chromium: loads without JavaScript errors, fetches
nothing from the network, draws every figure with data points; plus static export.

Needs a Chromium-family browser (CI installs Debian's ``chromium``); skipped only where
none is installed.
"""

from __future__ import annotations

import json

import pytest

from ador.report.browser import Browser, find_browser
from tests.report.synthetic import make_run

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    find_browser() is None,
    reason="no Chromium/Chrome browser installed (apt-get install chromium, or set "
           "ADOR_BROWSER to its executable)")]

EXPECTED = ["pareto", "pareto3d", "knobs", "hypervolume", "latency", "roofline", "area",
            "validation"]

# Per figure: traces with data, SVG marks drawn (scatter points, bars, lines) and WebGL
# canvases (3-D scatter, parallel coordinates).
PROBE = """
(async () => {
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  for (let i = 0; i < 100 && plots.some(g => !g._fullLayout); i++)
    await new Promise(r => setTimeout(r, 100));
  await new Promise(r => setTimeout(r, 500));
  return plots.map(g => ({
    id: g.id,
    traces: (g._fullData || []).length,
    values: (g._fullData || []).reduce((n, t) =>
        n + ((t.x && t.x.length) || (t.dimensions && t.dimensions[0].values.length) || 0), 0),
    svgMarks: g.querySelectorAll('.scatterlayer .point, .barlayer .point, '
                                 + '.scatterlayer .js-line').length,
    canvases: Array.from(g.querySelectorAll('canvas')).filter(c => c.width > 0).length,
    parcoordsAxes: g.querySelectorAll('.parcoords .y-axis').length,
    width: g.getBoundingClientRect().width,
    height: g.getBoundingClientRect().height,
  }));
})()
"""


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    from tests.conftest import run_cli

    tmp = tmp_path_factory.mktemp("browser")
    folder = make_run(tmp)
    val = tmp / "validation.json"
    val.write_text(json.dumps({"rows": [
        {"id": "r1", "metric": "tpot", "predicted": 0.011, "measured": 0.0105},
        {"id": "r2", "metric": "ttft", "predicted": 0.3, "measured": 0.24},
        {"id": "r3", "metric": "throughput", "predicted": 1800.0, "measured": 1750.0}]}))
    area = tmp / "area.json"
    area.write_text(json.dumps({"components": [
        {"name": "systolic arrays", "area_mm2": 120.0, "power_w": 80.0},
        {"name": "global buffer", "area_mm2": 60.0, "power_w": 20.0}]}))
    result = run_cli("report", folder, "--validation", val, "--area", area)
    assert result.code == 0, result.stderr
    return folder, result


def test_report_writes_one_svg_per_figure(reported):
    folder, result = reported
    assert "warning" not in result.stderr
    images = sorted(p.stem for p in (folder / "figures").glob("*.svg"))
    assert images == sorted(EXPECTED)
    for key in EXPECTED:
        svg = (folder / "figures" / f"{key}.svg").read_text()
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
        assert len(svg) > 5000, key


def test_report_renders_in_headless_chromium(reported, tmp_path):
    folder, _ = reported
    with Browser(window=(1280, 900)) as b:
        b.open((folder / "report.html").as_uri())
        figures = b.evaluate(PROBE, timeout_s=60)
        shot = b.screenshot(tmp_path / "report.png")
        errors = b.page_errors()
        urls = b.requested_urls()
    assert errors == [], errors
    offsite = [u for u in urls if not u.startswith(("file:", "data:", "blob:"))]
    assert offsite == [], offsite
    by_id = {f["id"]: f for f in figures}
    assert sorted(by_id) == sorted(f"fig-{k}" for k in EXPECTED)
    for key in EXPECTED:
        f = by_id[f"fig-{key}"]
        assert f["traces"] > 0 and f["values"] > 0, f
        assert f["width"] > 600 and f["height"] > 300, f
        if key in ("pareto3d", "knobs"):  # WebGL
            assert f["canvases"] > 0, f
        else:
            assert f["svgMarks"] > 0, f
    assert by_id["fig-knobs"]["parcoordsAxes"] == 3
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000


def test_plot_pareto_png(cli, reported, tmp_path):
    folder, _ = reported
    out = tmp_path / "front.png"
    r = cli("plot", "pareto", folder, "--x", "tpot", "--y", "throughput_per_chip",
            "--out", out)
    assert r.code == 0, r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
