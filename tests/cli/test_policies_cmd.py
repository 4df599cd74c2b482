"""`ador policies`: a tiny comparison end to end (run folder, strict JSON, `ador report`),
and bad input as one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY = ("policies", "-w", "fixed-512-512", "--hardware", "a100,h100", "--policy",
        "colocated,disaggregated", "-n", "40", "--ttft-slo", "500ms", "--tpot-slo", "50ms")


def strict(text: str) -> dict:
    def refuse(token):
        raise ValueError(f"non-strict JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def tiny_json(tmp_path_factory):
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("policies")
    res = run_cli(*TINY, "--out", str(out), "--json")
    assert res.code == 0, res.stderr
    return strict(res.stdout)


def test_json_names_the_folder_and_every_cell(tiny_json):
    data = tiny_json
    assert [(g["hardware"], g["policy_key"]) for g in data["goodput"]] == [
        ("a100", "colocated"), ("a100", "disaggregated"), ("h100", "colocated"),
        ("h100", "disaggregated")]
    assert data["grid"]["ttft_slo_s"] == 0.5 and data["num_requests"] == 40
    assert all(g["goodput_per_chip_per_s"] > 0 for g in data["goodput"])


def test_report_renders_the_folder(cli, tiny_json):
    folder = tiny_json["folder"]
    res = cli("report", folder, "--no-images")
    assert res.code == 0, res.stderr
    assert "5 figures" in res.stdout
    page = Path(folder, "report.html").read_text(encoding="utf-8")
    for key in ("goodput", "attainment", "latency", "pools", "kv"):
        assert f'id="fig-{key}"' in page
    assert "Goodput per chip (requests/s)" in page
    manifest = json.loads(Path(folder, "summary.json").read_text(encoding="utf-8"))
    assert manifest["workload"]["spec"]["num_requests"] == 40
    assert manifest["workload"]["overrides"] == {"num_requests": 40}
    assert manifest["grid"]["hardware"][0] == {"label": "a100", "prefill": "a100",
                                               "decode": "a100"}


def test_report_refuses_search_options(cli, tiny_json):
    res = cli("report", tiny_json["folder"], "--no-images", "--area", "x.json")
    assert res.code == 2 and "--area" in res.stderr


def test_table_output(cli, tmp_path):
    res = cli("policies", "-w", "fixed-512-512", "--hardware", "a100+h100", "--policy",
              "disaggregated", "-n", "30", "--ttft-slo", "1s", "--tpot-slo", "100ms",
              "--rates", "1", "--out", str(tmp_path))
    assert res.code == 0, res.stderr
    assert "PD 1P1D" in res.stdout and "wrote" in res.stdout
    assert len(list(tmp_path.glob("policies-fixed-512-512-*"))) == 1


@pytest.mark.parametrize(("args", "field"), [
    (("--hardware", "a100,nope-gpu"), "--hardware"),
    (("--hardware", "a100,,h100"), "--hardware"),
    (("--policy", "fifo"), "--policy"),
    (("--hardware", "ador-systolic+ador-mactree", "--policy", "colocated"), "--policy"),
    (("--chips", "3"), "--chips"),
    (("--chips", "4", "--tp", "4"), "--chips"),
    (("--rates", "0.5,x"), "--rates"),
    (("--rates", "0.5,-1"), "--rates"),
    (("--attainment", "0"), "--attainment"),
    (("--ttft-slo", "500"), "--ttft-slo"),
    (("-m", "nope-model"), ""),
    (("-w", "nope-workload"), ""),
])
def test_bad_input_is_one_line_exit_2(cli, tmp_path, args, field):
    base = ["policies", "-w", "fixed-512-512", "-n", "20", "--out", str(tmp_path)]
    res = cli(*base, *args)
    assert res.code == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert field in lines[0] and "Traceback" not in res.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_workload_without_slo_needs_the_options(cli, tmp_path):
    res = cli("policies", "-w", "lognormal-poisson", "-n", "10", "--out", str(tmp_path))
    assert res.code == 2 and "--ttft-slo" in res.stderr
