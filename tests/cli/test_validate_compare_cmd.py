"""CLI of ador validate, ador compare and ador calibrate (contract keys, errors)."""

from __future__ import annotations

import json

from tests.validation.test_validation import row, write_rows


def test_validate_json_contract(cli, tmp_path):
    path = write_rows(tmp_path / "ref.csv", [row(), row(id="r2", metric="ttft", value=100)])
    res = cli("validate", "--reference", path, "--json")
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    for key in ("rows", "mape", "median_ape", "max_ape", "groups"):
        assert key in data
    for r in data["rows"]:
        assert {"id", "predicted", "measured", "ape"} <= set(r)
    assert data["rows"][0]["measured"] == 10.0


def test_validate_table_and_html(cli, tmp_path):
    path = write_rows(tmp_path / "ref.csv", [row()])
    out = tmp_path / "val.html"
    res = cli("validate", "--reference", path, "--html", out)
    assert res.code == 0, res.stderr
    assert "MAPE" in res.stdout
    html = out.read_text()
    assert "<html" in html and "plotly" in html.lower()


def test_validate_malformed_row_exits_2(cli, tmp_path):
    path = write_rows(tmp_path / "ref.csv", [row(value="abc")])
    res = cli("validate", "--reference", path)
    assert res.code == 2
    assert "Traceback" not in res.stderr
    assert f"{path}:2" in res.stderr and "value" in res.stderr


def test_validate_missing_file_exits_2(cli, tmp_path):
    res = cli("validate", "--reference", tmp_path / "nope.csv")
    assert res.code == 2 and "not found" in res.stderr


def test_compare_ratios(cli):
    res = cli("compare", "a100", "h100", "--batch", "8", "--input-len", "256",
              "--output-len", "32", "--json")
    assert res.code == 0, res.stderr
    data = json.loads(res.stdout)
    a100, h100 = data["designs"]
    assert data["baseline"] == "a100-sxm-80gb"
    assert a100["ratios"]["tpot_s"] == 1.0
    assert h100["ratios"]["tpot_s"] == h100["tpot_s"] / a100["tpot_s"]
    # H100 has 1.64x the HBM bandwidth and 3.2x the tensor throughput of the A100.
    assert h100["ratios"]["tpot_s"] < 1.0 and h100["ratios"]["throughput_per_chip_tok_s"] > 1.0


def test_compare_table(cli):
    res = cli("compare", "a100", "ador-hetero", "-b", "4", "-i", "128", "-o", "16")
    assert res.code == 0, res.stderr
    assert "tok/s" in res.stdout and "ador-hetero" in res.stdout


def test_compare_unknown_template_exits_2(cli):
    res = cli("compare", "a100", "b900")
    assert res.code == 2 and "b900" in res.stderr


def test_compare_refuses_a_model_that_does_not_fit_like_evaluate(cli):
    r = cli("compare", "a100", "h100", "--model", "llama3-70b")
    assert r.code == 2 and r.stdout == ""
    assert "'a100-sxm-80gb' has 80 GB of HBM" in r.stderr and "--allow-overflow" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli("compare", "a100", "h100", "--model", "llama3-70b", "--allow-overflow")
    assert r.code == 0 and "(does not" in r.stdout
    assert cli("compare", "a100", "h100", "--model", "llama3-70b", "--tp", "4").code == 0
