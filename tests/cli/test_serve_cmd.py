"""`ador serve`: summary table, strict JSON contract, run folder, report, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONV = ROOT.parent / "shared" / "workloads" / "splitwise_conv.csv"
JSON_KEYS = {"hardware", "model", "workload", "workload_text", "tp", "pp", "instances",
             "precision",
             "chips", "scheduler", "num_requests", "summary", "limits", "rejected", "slo",
             "goodput", "capacity", "board_power", "elapsed_s", "run_folder"}


def trace(tmp_path: Path, rows: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text("arrived_at,num_prefill_tokens,num_decode_tokens\n" + rows)
    return path


def small_trace(tmp_path: Path) -> Path:
    rows = "".join(f"{i * 0.05:.3f},{100 + 37 * (i % 9)},{5 + i % 13}\n" for i in range(120))
    return trace(tmp_path, rows)


def strict(text: str) -> dict:
    def refuse(token):
        raise ValueError(f"non-strict JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def test_json_contract_and_run_folder(cli, tmp_path):
    out = tmp_path / "results"
    res = cli("serve", "a100", "--workload", small_trace(tmp_path), "--rate", "8/s",
              "--out-dir", out, "--json", "--ttft-slo", "1s", "--tpot-slo", "50ms")
    assert res.code == 0, res.stderr
    data = strict(res.stdout)
    assert JSON_KEYS <= set(data)
    assert data["num_requests"] == 120 and data["chips"] == 1
    assert data["slo"] == {"ttft_s": 1.0, "tpot_s": pytest.approx(0.05)}
    s = data["summary"]
    assert s["request_throughput_per_s"] == pytest.approx(8.0, rel=0.25)
    assert 0 <= s["slo_attainment"] <= 1
    for key in ("ttft", "tpot", "itl", "e2e", "normalized_latency"):
        for stat in ("mean", "p50", "p90", "p99"):
            assert f"{key}_{stat}_s" in s
    assert s["ttft_p50_s"] <= s["ttft_p90_s"] <= s["ttft_p99_s"]
    folder = Path(data["run_folder"])
    assert folder.parent == out and (folder / "requests.csv").exists()


def test_table_and_report(cli, tmp_path):
    out = tmp_path / "results"
    res = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", out, "--goodput",
              "--ttft-slo", "1 s", "--tpot-slo", "60 ms", "-n", "60")
    assert res.code == 0, res.stderr
    for words in ("time to first token", "p99", "goodput", "output tokens"):
        assert words in res.stdout
    folder = next(out.iterdir())
    assert (folder / "rates.csv").exists()
    rep = cli("report", folder, "--no-images")
    assert rep.code == 0, rep.stderr
    html = (folder / "report.html").read_text()
    for key in ("fig-latency_cdf", "fig-timeseries", "fig-rates"):
        assert key in html


@pytest.mark.parametrize("args, words", [
    (["--rate", "0"], "--rate"),
    (["--rate", "-2"], "> 0"),
    (["--rate", "fast"], "requests per second"),
    (["--ttft-slo", "2", "--tpot-slo", "50ms"], "unit"),
    (["--goodput"], "SLOs"),
    (["--rate", "2", "--concurrency", "3"], "at most one"),
    (["--scheduler", "fifo"], "scheduler"),
    (["--sweep", "1,0"], "--sweep"),
    (["--tp", "3"], "power of two"),
    (["--precision", "fp5"], "precision"),
    (["--model", "llama3-70b"], "no HBM for a KV cache"),
    (["--concurrency", "4", "--sweep", "1,2"], "closed loop"),
    (["--tbt-slo", "0.1"], "unit"),
])
def test_bad_options_exit_2_write_nothing(cli, tmp_path, args, words):
    out = tmp_path / "results"
    res = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", out, *args)
    assert res.code == 2, res.stdout + res.stderr
    assert words in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("rows, words", [
    ("0,5,2\n1,-4,3\n", "at least 1"),
    ("0,5,2\n1,4.5,3\n", "integers"),
    ("2,5,2\n1,4,3\n", "must not decrease"),
])
def test_malformed_trace_exits_2_naming_file_and_line(cli, tmp_path, rows, words):
    path = trace(tmp_path, rows, "bad.csv")
    out = tmp_path / "results"
    res = cli("serve", "a100", "-w", path, "--out-dir", out)
    assert res.code == 2
    assert f"{path}:3" in res.stderr and words in res.stderr
    assert not out.exists()


def test_missing_column_and_missing_file(cli, tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("arrived_at,num_prefill_tokens\n0,5\n")
    res = cli("serve", "a100", "-w", path, "--out-dir", tmp_path / "r")
    assert res.code == 2 and "num_decode_tokens" in res.stderr
    res = cli("serve", "a100", "-w", tmp_path / "none.csv", "--out-dir", tmp_path / "r")
    assert res.code == 2 and "not found" in res.stderr
    res = cli("serve", "a100", "-w", "no-such-workload", "--out-dir", tmp_path / "r")
    assert res.code == 2 and "conv-trace" in res.stderr  # lists the known names


def test_requests_that_can_never_run_are_counted_not_fatal(cli, tmp_path):
    # llama3-8b's context is 8192 tokens: the second request is longer
    path = trace(tmp_path, "0,100,10\n0.1,9000,10\n0.2,100,10\n")
    res = cli("serve", "a100", "-w", path, "--out-dir", tmp_path / "r", "--json")
    assert res.code == 0, res.stderr
    data = strict(res.stdout)
    assert data["rejected"]["count"] == 1
    assert data["summary"]["completed"] == 2


def test_existing_results_survive_a_failed_run(cli, tmp_path):
    out = tmp_path / "results"
    ok = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", out, "-n", "20")
    assert ok.code == 0, ok.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", out, "--rate", "0")
    assert bad.code == 2
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.slow
@pytest.mark.skipif(not CONV.exists(), reason="../shared/workloads is absent")
def test_conversation_trace_at_four_requests_per_second(cli, tmp_path):
    res = cli("serve", "a100", "--model", "llama3-8b", "--workload", CONV, "--rate", "4",
              "--out-dir", tmp_path / "r", "--json")
    assert res.code == 0, res.stderr
    data = strict(res.stdout)
    assert data["num_requests"] == 19_366
    assert data["summary"]["request_throughput_per_s"] == pytest.approx(4.0, rel=0.05)


def test_explicit_rate_sweep(cli, tmp_path):
    out = tmp_path / "results"
    res = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", out, "-n", "40",
              "--sweep", "4, 1/s, 2", "--ttft-slo", "1s", "--tpot-slo", "50ms")
    assert res.code == 0, res.stderr
    import pandas as pd

    rates = pd.read_csv(next(out.iterdir()) / "rates.csv")
    assert list(rates["rate_per_s"]) == [1.0, 2.0, 4.0]
    assert rates["slo_attainment"].between(0, 1).all()
    # more load never shortens the median queue-plus-prefill wait of the same requests
    assert (rates["ttft_p50_s"].diff().dropna() >= -1e-9).all()


def test_two_instances_and_a_closed_loop(cli, tmp_path):
    out = tmp_path / "results"
    res = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", out, "--json",
              "--instances", "2", "--concurrency", "6", "-n", "60")
    assert res.code == 0, res.stderr
    data = strict(res.stdout)
    assert data["instances"] == 2 and data["chips"] == 2
    # a closed loop never has more requests in flight than clients
    assert data["summary"]["batch_size_max"] <= 6
    assert data["summary"]["completed"] == 60
    rep = cli("report", data["run_folder"], "--no-images")
    assert rep.code == 0, rep.stderr


def test_capacity_search(cli, tmp_path):
    res = cli("serve", "a100", "-w", small_trace(tmp_path), "--out-dir", tmp_path / "r",
              "--json", "-n", "60", "--tbt-slo", "80ms")
    assert res.code == 0, res.stderr
    cap = strict(res.stdout)["capacity"]
    assert cap["tbt_p99_slo_s"] == pytest.approx(0.08) and cap["rate_per_s"] > 0
    assert cap["simulations"] >= 2


def test_power_and_energy_of_a_served_run(cli, tmp_path):
    """Average power per chip stays within the board limit (the clock drops first), energy per
    output token is power x chips x wall time / tokens, and the time series has power."""
    import pandas as pd

    out = tmp_path / "results"
    res = cli("serve", "h100", "--workload", small_trace(tmp_path), "--rate", "8/s",
              "--out-dir", out, "--json")
    assert res.code == 0, res.stderr
    data = strict(res.stdout)
    p = data["board_power"]
    assert p["idle_power_w"] < p["average_power_w"] <= p["board_power_limit_w"] * (1 + 1e-9)
    assert p["energy_per_output_token_j"] == pytest.approx(
        p["average_power_w"] * data["chips"] * p["wall_s"] / p["output_tokens"], rel=1e-9)
    assert p["energy_per_request_j"] == pytest.approx(
        p["energy_j"] / data["summary"]["completed"], rel=1e-9)
    ts = pd.read_csv(Path(data["run_folder"]) / "timeseries.csv")
    assert (ts["power_w"] >= p["idle_power_w"] - 1e-9).all()
    summary = json.loads((Path(data["run_folder"]) / "summary.json").read_text())
    assert summary["board_power"]["average_power_w"] == pytest.approx(p["average_power_w"])
