"""Energy rows: reading (one-line errors), steady-state and simulated predictions within
the board limit, and the public rows' error bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ador.errors import AdorError
from ador.serve.power_limit import powered_run
from ador.spec.precision import Precision
from ador.spec.scheduler import SchedulerConfig
from ador.validation.energy import (
    chat_requests,
    is_energy_csv,
    read_energy_reference,
    steady_state,
    validate_energy_rows,
)
from tests.conftest import ROOT, hardware, model

PUBLIC = ROOT.parent / "shared" / "validation" / "energy_public.csv"
HEADER = ("id,source,hardware,model,precision,tp,workload,max_num_seqs,mean_input_len,"
          "mean_output_len,metric,value,unit,notes\n")


def write(tmp_path: Path, *rows: str) -> Path:
    p = tmp_path / "energy.csv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def test_reads_rows_and_detects_energy_csv(tmp_path):
    p = write(tmp_path, "e1,s,h100-sxm-80gb,llama3-8b,bf16,1,max_load,16,,400,"
                        "avg_power_per_gpu,500,W,")
    assert is_energy_csv(p)
    (row,) = read_energy_reference(p)
    assert row.max_num_seqs == 16 and row.mean_input_len is None and row.value == 500.0


@pytest.mark.parametrize(("row", "needle"), [
    ("e1,s,h100-sxm-80gb,llama3-8b,bf16,1,max_load,16,,400,avg_power_per_gpu,500,J,", "unit"),
    ("e1,s,h100-sxm-80gb,llama3-8b,bf16,1,max_load,0,,400,avg_power_per_gpu,500,W,",
     "max_num_seqs"),
    ("e1,s,h100-sxm-80gb,llama3-8b,bf16,1,max_load,16,,400,watts,500,W,", "metric"),
])
def test_bad_rows_name_the_line_and_field(tmp_path, row, needle):
    with pytest.raises(AdorError) as err:
        read_energy_reference(write(tmp_path, row))
    assert "energy.csv:2" in err.value.message() and needle in err.value.message()


def test_steady_state_power_within_limit_and_rising_with_batch():
    h, m = hardware("h100-sxm-80gb"), model("llama3-8b")
    states = [steady_state(hardware=h, model=m, precision=Precision.BF16, tp=1,
                           max_num_seqs=b, input_tokens=384, output_tokens=400)
              for b in (8, 64, 512)]
    power = [s.power_w for s in states]
    energy = [s.energy_per_output_token_j for s in states]
    assert all(p <= 700.0 + 1e-6 for p in power)
    assert power[0] < power[1] <= power[2]
    assert energy[0] > energy[1] > energy[2]
    # saturation near the limit at the largest batch (measured: 688 W of 700 W at cap
    # 512); energy per token flattens (equal steps of log batch)
    assert power[2] > 0.9 * 700.0
    assert energy[1] - energy[2] < energy[0] - energy[1]


def test_simulated_run_within_the_limit_and_accounting_closes():
    h, m = hardware("h100-sxm-80gb"), model("llama3-8b")
    reqs = chat_requests(n=120, mean_input=384, mean_output=100, max_context=m.max_context)
    run = powered_run(hardware=h, model=m, requests=reqs, precision="bf16", bisection_steps=5,
                      scheduler=SchedulerConfig(name="sarathi", max_num_seqs=64,
                                                chunk_tokens=8192))
    p = run.power
    assert p.average_power_w <= 700.0 + 1e-6
    assert p.average_power_w > p.idle_w
    assert p.energy_per_output_token_j == pytest.approx(
        p.average_power_w * p.wall_s / run.output_tokens, rel=1e-12)
    assert run.energy_per_request_j > 0


@pytest.mark.slow
@pytest.mark.skipif(not PUBLIC.exists(), reason="../shared/validation/energy_public.csv absent")
def test_public_energy_rows_within_targets():
    v = validate_energy_rows(read_energy_reference(PUBLIC))
    by_metric: dict[str, list[float]] = {}
    for r in v.rows:
        assert r.error is None, r.error
        by_metric.setdefault(r.row.metric, []).append(r.ape)
    assert max(by_metric["avg_power_per_gpu"]) < 0.10
    assert np.mean(by_metric["energy_per_output_token"]) < 0.15


def test_power_summary_of_a_whole_run_is_strict_json_and_consistent():
    import json

    from ador.serve import simulate
    from ador.serve.power_limit import power_summary

    h, m = hardware("h100-sxm-80gb"), model("llama3-8b")
    reqs = chat_requests(n=40, mean_input=200, mean_output=50, max_context=m.max_context)
    result = simulate(hardware=h, model=m, requests=reqs, precision="bf16",
                      scheduler=SchedulerConfig(name="sarathi", max_num_seqs=16,
                                                chunk_tokens=8192))
    s = power_summary(result=result, hardware=h, model=m, precision="bf16")
    json.dumps(s, allow_nan=False)
    assert len(s["power_w_per_iteration"]) == result.timeseries.t_s.size
    assert s["idle_power_w"] < s["average_power_w"] <= 700.0
    tokens = int(result.requests.output_tokens.sum())
    assert s["energy_per_output_token_j"] == pytest.approx(
        s["average_power_w"] * s["wall_s"] / tokens, rel=1e-9)
    assert s["energy_per_request_j"] == pytest.approx(s["energy_j"] / 40, rel=1e-9)
