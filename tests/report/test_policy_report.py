"""The policy comparison report: a folder's figures and table in one offline page."""

from __future__ import annotations

from ador.report.policy_report import build_policy_report, render_policy_html
from ador.runfolders import write_csv, write_json
from ador.serve.policy_runfolder import FILES, KIND, load_policy_run
from tests.report.test_policy_data import GOODPUT, _rates

GRID = {"hardware": [{"label": h, "prefill": h, "decode": h} for h in ("A100", "H100", "pair")],
        "policies": ["colocated", "disaggregated"], "chips": 2, "ttft_slo_s": 0.5,
        "tpot_slo_s": 0.05, "attainment": 0.9, "rate_fractions": [0.5, 1.0, 1.2]}


def _folder(tmp_path, rates=True):
    write_json(tmp_path / FILES["summary"], {"kind": KIND, "model": "llama3-8b",
                                             "workload": {"name": "w"}, "num_requests": 9,
                                             "grid": GRID})
    write_csv(tmp_path / FILES["goodput"], GOODPUT)
    if rates:
        write_csv(tmp_path / FILES["rates"], _rates())
    return load_policy_run(tmp_path)


def test_report_has_every_figure_and_the_table(tmp_path):
    report = build_policy_report(_folder(tmp_path))
    assert [s.key for s in report.sections] == ["goodput", "attainment", "latency", "pools",
                                                "kv"]
    assert not report.notes
    page = render_policy_html(report)
    for key in ("goodput", "attainment", "latency", "pools", "kv"):
        assert f'id="fig-{key}"' in page
    assert page.count("* plotly.js v") == 1  # embedded once, nothing from a CDN
    assert "Goodput per chip (requests/s)" in page and "Relative to A100" in page
    assert "<td>6.00</td>" in page  # colo on H100
    assert "colo: H100" in page  # best hardware per policy


def test_without_rates_only_the_goodput_figure(tmp_path):
    report = build_policy_report(_folder(tmp_path, rates=False))
    assert [s.key for s in report.sections] == ["goodput"]
    assert len(report.notes) == 4 and all("left out" in n for n in report.notes)
    assert 'id="fig-goodput"' in render_policy_html(report)
