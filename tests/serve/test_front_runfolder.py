"""Serving run folders: every file written, read back, never overwritten, strict JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError
from ador.serve import SchedulerConfig, simulate
from ador.serve.metrics import inter_token
from ador.serve.runfolder import (FILES, RunFacts, is_serving_run, load_serving_run,
                                  write_serving_run)
from ador.serve.workloads import requests_from_spec
from ador.spec.io import load_spec, to_data, validate_data
from ador.spec.serving import ServingRunConfig, ServingWorkloadSpec
from tests.conftest import hardware, model
from tests.serve.conftest import step

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def run_parts():
    spec = validate_data(ServingWorkloadSpec, {
        "name": "small", "lengths": {"kind": "distribution",
                                     "input": {"kind": "uniform", "min": 50, "max": 400},
                                     "output": {"kind": "uniform", "min": 1, "max": 60}},
        "arrivals": {"kind": "poisson", "rate": "20/s"}, "num_requests": 150,
        "slo": {"ttft": "500 ms", "tpot": "40 ms"}}, file="test")
    requests = requests_from_spec(spec)
    sched = SchedulerConfig(name="vllm")
    result = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                      requests=requests, scheduler=sched, step_model=step(),
                      ttft_slo_s=0.5, tpot_slo_s=0.04)
    config = validate_data(ServingRunConfig, {
        "hardware": "a100", "model": "llama3-8b", "workload": to_data(spec),
        "scheduler": to_data(sched)}, file="test")
    facts = RunFacts(hardware="a100", model="llama3-8b", workload="small", tp=1, pp=1,
                     precision="fp16", num_requests=requests.n,
                     slo={"ttft_s": 0.5, "tpot_s": 0.04})
    return config, result, facts


def test_folder_round_trip(tmp_path, run_parts):
    config, result, facts = run_parts
    rates = pd.DataFrame({"rate_per_s": [1.0, 2.0], "slo_attainment": [1.0, 0.5]})
    folder = write_serving_run(tmp_path, name="serve-small", config=config, result=result,
                               facts=facts, rates=rates, token_times=True, now=NOW)
    assert folder.name == "serve-small-20260102-030405"
    assert is_serving_run(folder)
    run = load_serving_run(folder)
    r = result.requests
    req = run.requests
    assert len(req) == r.n
    np.testing.assert_allclose(req["ttft_s"], r.first_token_s - r.arrival_s, rtol=1e-12)
    np.testing.assert_allclose(req["e2e_s"], r.finish_s - r.arrival_s, rtol=1e-12)
    assert req["output_tokens"].sum() == r.output_tokens.sum()
    assert len(run.timeseries) == result.timeseries.t_s.size
    gaps = inter_token(r)
    assert run.itl["itl_s"].iloc[0] == pytest.approx(gaps.min())
    assert run.itl["itl_s"].iloc[-1] == pytest.approx(gaps.max())
    assert np.all(np.diff(run.itl["itl_s"]) >= 0)
    assert list(run.rates["rate_per_s"]) == [1.0, 2.0]
    tokens = pd.read_csv(folder / FILES["tokens"])
    assert len(tokens) == r.output_tokens[~r.rejected].sum()
    first = tokens[tokens["token"] == 0].set_index("id")["t_s"]
    np.testing.assert_allclose(first, r.first_token_s[first.index], rtol=1e-12)
    last = tokens.groupby("id")["t_s"].max()
    np.testing.assert_allclose(last, r.finish_s[last.index], rtol=1e-12)
    s = run.summary
    assert s["kind"] == "serving" and s["num_requests"] == r.n
    assert s["summary"]["ttft_p99_s"] == pytest.approx(result.summary["ttft_p99_s"])
    assert set(s["files"]) <= set(FILES.values())


def test_summary_is_strict_json(tmp_path, run_parts):
    config, result, facts = run_parts
    folder = write_serving_run(tmp_path, name="x", config=config, result=result, facts=facts,
                               now=NOW)

    def refuse(token):
        raise ValueError(token)

    json.loads((folder / FILES["summary"]).read_text(), parse_constant=refuse)


def test_config_reloads_with_its_slo_units(tmp_path, run_parts):
    config, result, facts = run_parts
    folder = write_serving_run(tmp_path, name="x", config=config, result=result, facts=facts,
                               now=NOW)
    again = load_spec(ServingRunConfig, folder / FILES["config"])
    assert again == config
    assert "500 ms" not in (folder / "config.yaml").read_text()  # written in seconds
    assert again.workload.slo.ttft == pytest.approx(0.5)


def test_a_run_folder_is_never_overwritten(tmp_path, run_parts):
    config, result, facts = run_parts
    folder = write_serving_run(tmp_path, name="x", config=config, result=result, facts=facts,
                               now=NOW)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(AdorError, match="never overwritten"):
        write_serving_run(tmp_path, name="x", config=config, result=result, facts=facts,
                          now=NOW)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_loading_something_else_is_one_clear_error(tmp_path):
    assert not is_serving_run(tmp_path)
    with pytest.raises(AdorError, match="summary"):
        load_serving_run(tmp_path)
    with pytest.raises(AdorError, match="does not exist"):
        load_serving_run(tmp_path / "nope")
