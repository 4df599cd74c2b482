"""ador validate: reading reference rows, predicting them, summarising errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ador.errors import SpecError
from ador.evaluate import evaluate
from ador.spec.io import load_hardware, load_model
from ador.spec.scenario import Scenario
from ador.validation.compare import to_json, validate_rows
from ador.validation.reference import REQUIRED_COLUMNS, read_reference

HEADER = list(REQUIRED_COLUMNS) + ["notes"]
PUBLIC = Path(__file__).resolve().parents[2].parent / "shared" / "validation" / \
    "reference_public.csv"


def write_rows(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({"notes": "", **row})
    return path


def row(**over) -> dict:
    base = {"id": "r1", "source": "synthetic", "hardware": "a100", "model": "llama3-8b",
            "precision": "fp16", "tp": 1, "batch": 8, "input_len": 256, "output_len": 64,
            "metric": "tpot", "value": 10.0, "unit": "ms"}
    base.update(over)
    return base


def test_rows_produced_by_the_model_validate_with_zero_error(tmp_path):
    sc = Scenario(batch=8, input_len=256, output_len=64)
    b = evaluate(hardware=load_hardware("a100"), model=load_model("llama3-8b"), scenario=sc)
    rows = [
        row(id="ttft", metric="ttft", value=b.ttft_s * 1e3, unit="ms"),
        row(id="tpot", metric="tpot", value=b.tpot_s, unit="s"),
        row(id="e2e", metric="e2e_latency", value=b.e2e_s, unit="s"),
        row(id="thr", metric="static_throughput_per_gpu", value=b.throughput_per_chip_tok_s,
            unit="tok/s"),
    ]
    result = to_json(validate_rows(read_reference(write_rows(tmp_path / "ref.csv", rows))))
    assert result["mape"] == pytest.approx(0.0, abs=1e-9)
    assert result["max_ape"] == pytest.approx(0.0, abs=1e-9)
    assert [r["id"] for r in result["rows"]] == ["ttft", "tpot", "e2e", "thr"]
    assert all(r["ape"] == pytest.approx(0.0, abs=1e-9) for r in result["rows"])


def test_signed_error_and_groups(tmp_path):
    sc = Scenario(batch=8, input_len=256, output_len=64)
    b = evaluate(hardware=load_hardware("a100"), model=load_model("llama3-8b"), scenario=sc)
    rows = [row(id="a", value=b.tpot_s * 1e3 / 1.25), row(id="b", value=b.tpot_s * 1e3 / 0.8)]
    result = to_json(validate_rows(read_reference(write_rows(tmp_path / "r.csv", rows))))
    errors = {r["id"]: r["signed_error"] for r in result["rows"]}
    assert errors["a"] == pytest.approx(0.25) and errors["b"] == pytest.approx(-0.2)
    assert result["mape"] == pytest.approx(0.225)
    assert result["groups"] == [{"source": "synthetic", "hardware": "a100", "metric": "tpot",
                                 "n": 2, "mape": pytest.approx(0.225),
                                 "median_ape": pytest.approx(0.225),
                                 "max_ape": pytest.approx(0.25)}]


def test_rows_the_model_cannot_handle_are_reported_not_dropped(tmp_path):
    rows = [row(id="ok"), row(id="fp8-on-a100", precision="fp8"),
            row(id="no-such-gpu", hardware="tpu-v9")]
    result = to_json(validate_rows(read_reference(write_rows(tmp_path / "r.csv", rows))))
    assert [r["id"] for r in result["rows"]] == ["ok", "fp8-on-a100", "no-such-gpu"]
    failed = {e["id"]: e["error"] for e in result["errors"]}
    assert set(failed) == {"fp8-on-a100", "no-such-gpu"}
    assert "fp8" in failed["fp8-on-a100"] and "tpu-v9" in failed["no-such-gpu"]
    assert result["n"] == 1


@pytest.mark.parametrize("bad, field, words", [
    ({"value": "fast"}, "value", "number"),
    ({"value": "-3"}, "value", "greater than 0"),
    ({"metric": "latency"}, "metric", "ttft"),
    ({"unit": "tok/s"}, "r1", "unit of metric 'tpot'"),
    ({"precision": "fp4"}, "precision", "fp16"),
    ({"batch": "0"}, "batch", "greater than 0"),
])
def test_malformed_row_is_one_clear_error(tmp_path, bad, field, words):
    path = write_rows(tmp_path / "bad.csv", [row(id="r0"), row(**bad)])
    with pytest.raises(SpecError) as info:
        read_reference(path)
    message = info.value.message()
    assert f"{path}:3" in message
    assert field in message and words in message


def test_missing_column_and_duplicate_ids(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("id,hardware\nx,a100\n")
    with pytest.raises(SpecError, match="missing column"):
        read_reference(path)
    with pytest.raises(SpecError, match="unique"):
        read_reference(write_rows(tmp_path / "dup.csv", [row(), row()]))


@pytest.mark.skipif(not PUBLIC.exists(), reason="../shared/validation is absent")
def test_public_reference_within_the_error_budget():
    result = to_json(validate_rows(read_reference(PUBLIC)))
    assert not result["errors"]
    assert result["mape"] <= 0.15
