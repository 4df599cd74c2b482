"""`ador validate --reference ENERGY.csv`: JSON contract, figure, one-line errors."""

from __future__ import annotations

import json

import pytest

HEADER = ("id,source,hardware,model,precision,tp,workload,max_num_seqs,mean_input_len,"
          "mean_output_len,metric,value,unit,notes\n")
ROWS = ("e1,s,h100-sxm-80gb,llama3-8b,bf16,1,max_load,8,256,128,avg_power_per_gpu,480,W,\n"
        "e2,s,h100-sxm-80gb,llama3-8b,bf16,1,max_load,8,256,128,energy_per_output_token,"
        "0.5,J,\n")


def test_energy_csv_json_rows_and_groups(cli, tmp_path):
    ref = tmp_path / "energy.csv"
    ref.write_text(HEADER + ROWS)
    r = cli("validate", "--reference", ref, "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["kind"] == "energy" and data["n"] == 2
    power, energy = data["rows"]
    assert 0.0 < power["predicted"] <= 700.0
    assert energy["predicted"] > 0 and power["batch"] == 8
    assert {g["metric"] for g in data["groups"]} == {"avg_power_per_gpu",
                                                     "energy_per_output_token"}


@pytest.mark.slow
def test_energy_csv_table_and_figure(cli, tmp_path):
    ref = tmp_path / "energy.csv"
    ref.write_text(HEADER + ROWS)
    html = tmp_path / "energy.html"
    r = cli("validate", "--reference", ref, "--html", html)
    assert r.code == 0, r.stderr
    assert "MAPE" in r.stdout and "assumed 384" in r.stdout.replace("\n", " ")
    assert html.stat().st_size > 10_000


def test_energy_csv_bad_unit_exits_2(cli, tmp_path):
    ref = tmp_path / "energy.csv"
    ref.write_text(HEADER + ROWS.replace(",W,", ",kW,"))
    r = cli("validate", "--reference", ref)
    assert r.code == 2 and "energy.csv:2" in r.stderr and "unit" in r.stderr
