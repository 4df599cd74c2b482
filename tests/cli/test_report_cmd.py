"""`ador report` and `ador plot pareto`: outputs, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from tests.report.synthetic import make_run


@pytest.fixture
def run_dir(tmp_path):
    return make_run(tmp_path)


@pytest.mark.slow
def test_report_without_images_writes_html(cli, run_dir):
    r = cli("report", run_dir, "--no-images")
    assert r.code == 0, r.stderr
    page = (run_dir / "report.html").read_text()
    assert "Plotly.newPlot" in page and "Latency breakdown" in page
    assert not (run_dir / "figures").exists()


def test_report_with_validation_and_area_json(cli, run_dir, tmp_path):
    val = tmp_path / "val.json"
    val.write_text(json.dumps({"rows": [{"id": "a", "predicted": 1.0, "measured": 1.1}]}))
    area = tmp_path / "area.json"
    area.write_text(json.dumps({"area_mm2": {"sram": 40.0}, "power_w": {"sram": 9.0}}))
    r = cli("report", run_dir, "--no-images", "--validation", val, "--area", area)
    assert r.code == 0, r.stderr
    page = (run_dir / "report.html").read_text()
    assert "Model validation" in page and "Area and power" in page


def test_report_without_a_browser_still_writes_html(cli, run_dir, monkeypatch):
    monkeypatch.setattr("ador.report.browser.find_browser", lambda: None)
    r = cli("report", run_dir)
    assert r.code == 0
    assert (run_dir / "report.html").exists()
    assert "figure images not written" in r.stderr and "no Chromium" in r.stderr


def one_line_error(r) -> str:
    assert r.code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_missing_run_dir(cli, tmp_path):
    line = one_line_error(cli("report", tmp_path / "nope"))
    assert str(tmp_path / "nope") in line and "does not exist" in line


def test_not_a_run_folder(cli, tmp_path):
    line = one_line_error(cli("plot", "pareto", tmp_path))
    assert str(tmp_path) in line and "designs.csv is missing" in line


def test_unknown_objective(cli, run_dir):
    line = one_line_error(cli("plot", "pareto", run_dir, "--x", "speed", "--y", "tpot"))
    assert "field '--x'" in line and "'speed'" in line and "throughput_per_chip" in line


def test_objective_not_in_run(cli, run_dir):
    line = one_line_error(cli("plot", "pareto", run_dir, "--x", "tpot", "--y", "power"))
    assert "field '--y'" in line and "power_w" in line


def test_bad_format_and_suffix(cli, run_dir, tmp_path):
    assert "field '--format'" in one_line_error(cli("report", run_dir, "--format", "gif"))
    assert "field '--out'" in one_line_error(
        cli("plot", "pareto", run_dir, "--out", tmp_path / "x.jpg"))


def test_plot_pareto_html(cli, run_dir, tmp_path):
    out = tmp_path / "front.html"
    r = cli("plot", "pareto", run_dir, "--x", "tpot", "--y", "throughput_per_chip", "--out", out)
    assert r.code == 0, r.stderr
    page = out.read_text()
    assert "time per output token" in page and "Plotly.newPlot" in page
    r = cli("plot", "pareto", run_dir, "--z", "ttft")
    assert r.code == 0, r.stderr
    default = run_dir / "pareto-throughput_per_chip-tokens_per_s_per_mm2-ttft.html"
    assert "scatter3d" in default.read_text()


def test_report_with_a_reference_csv_predicts_the_validation(cli, run_dir, tmp_path):
    ref = tmp_path / "ref.csv"
    ref.write_text("id,source,hardware,model,precision,tp,batch,input_len,output_len,metric,"
                   "value,unit,notes\n"
                   "m1,test,h100,llama3-8b,fp16,1,8,128,64,tpot,9.0,ms,\n"
                   "m2,test,a100,llama3-8b,fp16,1,8,128,64,ttft,40.0,ms,\n")
    r = cli("report", run_dir, "--no-images", "--validation", ref)
    assert r.code == 0, r.stderr
    assert "Model validation" in (run_dir / "report.html").read_text()
    line = one_line_error(cli("report", run_dir, "--validation", tmp_path / "none.csv"))
    assert "none.csv" in line and "--validation" in line
