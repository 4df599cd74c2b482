"""Serving rows of a reference CSV: parsing, the simulated setup, errors, the public rows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ador.errors import SpecError
from ador.validation.compare import to_json, validate_rows
from ador.validation.reference import read_reference
from ador.validation.serving import (CLOSED_LOOP_ROUNDS, DEFAULT_MAX_LOAD, ServingReferenceRow,
                                     row_workload, simulate_row, steady_state)
from tests.validation.test_validation import row as static_row

HEADER = ["id", "source", "hardware", "model", "precision", "tp", "batch", "workload",
          "concurrency", "num_requests", "input_len", "output_len", "metric", "value", "unit",
          "notes"]
PUBLIC = Path(__file__).resolve().parents[2].parent / "shared" / "validation" / \
    "serving_public.csv"


def srow(**over) -> dict:
    base = {"id": "s1", "source": "synthetic", "hardware": "a100", "model": "llama3-8b",
            "precision": "fp16", "tp": 1, "batch": "", "workload": "max_load",
            "concurrency": "", "num_requests": 64, "input_len": 128, "output_len": 16,
            "metric": "output_throughput", "value": 1000.0, "unit": "tok/s"}
    base.update(over)
    return base


def write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        w = csv.DictWriter(handle, fieldnames=HEADER)
        w.writeheader()
        for r in rows:
            w.writerow({"notes": "", "workload": "", "concurrency": "", "num_requests": "",
                        **r})
    return path


def test_workload_column_tells_serving_rows_from_static_rows(tmp_path):
    rows = read_reference(write(tmp_path / "mix.csv", [srow(), static_row(id="st")]))
    assert isinstance(rows[0], ServingReferenceRow) and rows[0].num_requests == 64
    assert not isinstance(rows[1], ServingReferenceRow) and rows[1].batch == 8


def test_setup_of_a_max_load_and_a_closed_loop_row(tmp_path):
    a, b = read_reference(write(tmp_path / "r.csv", [
        srow(num_requests=""), srow(id="c", workload="closed_loop", concurrency=4,
                                    num_requests="", metric="mean_ttft", unit="ms")]))
    req, sched = row_workload(a)
    assert req.n == DEFAULT_MAX_LOAD and req.concurrency is None
    assert np.all(req.arrival_s == 0) and np.all(req.prompt_tokens == 128)
    assert sched.name == "trtllm" and sched.max_batch_size is None
    assert sched.kv_memory_fraction == 0.95
    req, sched = row_workload(b)
    assert req.concurrency == 4 and req.n == 4 * CLOSED_LOOP_ROUNDS
    assert sched.kv_memory_fraction == 0.90


def test_rows_made_from_the_simulation_validate_with_zero_error(tmp_path):
    base = [srow(id="thr"),
            srow(id="ttft", workload="closed_loop", concurrency=2, num_requests=8,
                 metric="mean_ttft", unit="ms"),
            srow(id="itl", workload="closed_loop", concurrency=2, num_requests=8,
                 metric="mean_itl", unit="s")]
    rows = read_reference(write(tmp_path / "r.csv", base))
    thr = simulate_row(rows[0]).summary["output_throughput_tok_per_s"]
    loop = steady_state(simulate_row(rows[1]), 2)
    base[0]["value"] = thr
    base[1]["value"] = loop["ttft_mean_s"] * 1e3
    base[2]["value"] = loop["itl_mean_s"]
    result = to_json(validate_rows(read_reference(write(tmp_path / "r2.csv", base))))
    assert not result["errors"]
    assert result["max_ape"] == pytest.approx(0.0, abs=1e-9)
    assert [r["workload"] for r in result["rows"]] == ["max_load", "closed_loop",
                                                        "closed_loop"]


def test_steady_state_of_one_client_is_one_request_after_another(tmp_path):
    (row,) = read_reference(write(tmp_path / "r.csv", [srow(
        workload="closed_loop", concurrency=1, num_requests=6, input_len=300,
        output_len=40, metric="mean_itl", unit="ms")]))
    result = simulate_row(row)
    r = result.requests
    # each request is sent the moment the previous one finishes
    np.testing.assert_allclose(r.arrival_s[1:], r.finish_s[:-1])
    steady = steady_state(result, 1)
    e2e = float(r.finish_s[2] - r.arrival_s[2])
    assert steady["output_throughput_tok_per_s"] == pytest.approx(40 / e2e, rel=0.03)
    assert steady["ttft_mean_s"] == pytest.approx(result.summary["ttft_mean_s"], rel=1e-6)
    # too short a run for a steady state
    assert steady_state(result, 3) is None


def test_closed_loop_steady_state_leaves_out_the_synchronised_start(tmp_path):
    (row,) = read_reference(write(tmp_path / "r.csv", [srow(
        workload="closed_loop", concurrency=8, num_requests=80, input_len=2000,
        output_len=50, metric="mean_ttft", unit="ms")]))
    result = simulate_row(row)
    steady = steady_state(result, 8)
    # at t = 0 eight prompts queue behind each other; later they are spread out
    assert steady["ttft_mean_s"] < result.summary["ttft_mean_s"]
    assert steady["output_throughput_tok_per_s"] > 0


@pytest.mark.parametrize("bad, field, words", [
    ({"workload": "open_loop"}, "workload", "max_load"),
    ({"metric": "p99_ttft"}, "metric", "output_throughput"),
    ({"unit": "ms"}, "s1", "unit of metric 'output_throughput'"),
    ({"workload": "closed_loop"}, "s1", "concurrency"),
    ({"concurrency": "0", "workload": "closed_loop"}, "concurrency", "greater than 0"),
])
def test_malformed_serving_row_is_one_clear_error(tmp_path, bad, field, words):
    path = write(tmp_path / "bad.csv", [srow(id="ok"), srow(**bad)])
    with pytest.raises(SpecError) as info:
        read_reference(path)
    message = info.value.message()
    assert f"{path}:3" in message and field in message and words in message


def test_rows_the_simulator_cannot_run_are_reported(tmp_path):
    rows = read_reference(write(tmp_path / "r.csv", [
        srow(hardware="tpu-v9"), srow(id="long", input_len=9000, num_requests=4)]))
    result = to_json(validate_rows(rows))
    errors = {e["id"]: e["error"] for e in result["errors"]}
    assert "tpu-v9" in errors["s1"]
    assert "4 of 4 requests can never run" in errors["long"] and "context" in errors["long"]
    assert result["n"] == 0


@pytest.mark.slow
@pytest.mark.skipif(not PUBLIC.exists(), reason="../shared/validation is absent")
def test_public_serving_rows_are_all_predicted():
    result = to_json(validate_rows(read_reference(PUBLIC)))
    assert not result["errors"]
    assert len(result["rows"]) == 10
