"""`ador area` and the efficiency keys of `ador evaluate --json`."""

from __future__ import annotations

import json

import pytest

AREA_PARTS = {"matrix_units", "vector_units", "register_files", "local_buffers", "control",
              "global_buffer", "network_on_chip", "hbm_interface", "p2p_interface",
              "host_interface", "spares", "total"}
POWER_PARTS = {"matrix_units", "vector_units", "global_buffer", "hbm", "p2p", "leakage",
               "regulator_loss", "total"}
EFFICIENCY_KEYS = {"area_mm2", "power_w", "energy_per_token_j", "cost_usd",
                   "tokens_per_s_per_mm2", "tokens_per_j"}


def test_area_json_keys(cli):
    r = cli("area", "a100", "--json")
    assert r.code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["hardware"] == "a100-sxm-80gb" and obj["process_node_nm"] == 7
    assert set(obj["area_mm2"]) == AREA_PARTS
    assert set(obj["peak_power_w"]) == POWER_PARTS
    assert {"die", "hbm", "packaging", "total", "dies_per_wafer", "die_yield"} <= set(
        obj["cost_usd"])
    parts = sum(v for k, v in obj["area_mm2"].items() if k != "total")
    assert parts == pytest.approx(obj["area_mm2"]["total"])
    assert obj["area_mm2"]["total"] == pytest.approx(826, rel=0.15)
    assert obj["peak_power_w"]["total"] == pytest.approx(400, rel=0.15)


def test_area_tables_by_default(cli):
    r = cli("area", "ador-hetero")
    assert r.code == 0, r.stderr
    for fragment in ("die area", "peak power", "cost per chip", "global buffer", "spares"):
        assert fragment in r.stdout


def test_area_of_an_unknown_template_is_one_line_exit_2(cli):
    r = cli("area", "no-such-chip")
    assert r.code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "no-such-chip" in lines[0]


def test_evaluate_json_has_the_efficiency_keys(cli):
    r = cli("evaluate", "h100", "-b", "2", "-i", "64", "-o", "8", "--json")
    assert r.code == 0, r.stderr
    obj = json.loads(r.stdout)
    assert EFFICIENCY_KEYS <= set(obj)
    assert {"ttft_s", "tpot_s", "throughput_tok_s", "breakdown"} <= set(obj)
    assert all(obj[k] > 0 for k in EFFICIENCY_KEYS)
    assert obj["tokens_per_j"] == pytest.approx(1 / obj["energy_per_token_j"])
    assert obj["tokens_per_s_per_mm2"] == pytest.approx(
        obj["throughput_per_chip_tok_s"] / obj["area_mm2"])


def test_evaluate_tables_show_efficiency(cli):
    r = cli("evaluate", "a100", "-b", "2", "-i", "64", "-o", "8")
    assert r.code == 0, r.stderr
    assert "energy per output token" in r.stdout and "die area" in r.stdout


def test_area_of_a_bad_hardware_file_is_one_line_exit_2(cli, tmp_path):
    from tests.conftest import TEMPLATES

    text = (TEMPLATES / "ador-hetero.yaml").read_text().replace("count: 8", "count: -8", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    r = cli("area", str(bad))
    assert r.code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yaml" in lines[0] and "count" in lines[0]
