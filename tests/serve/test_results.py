"""Result objects: strict JSON, per-request records, progress reporting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ador.serve import RequestSet, SchedulerConfig, build_step_model, simulate
from ador.serve.metrics import inter_token, per_request
from tests.conftest import hardware, model
from tests.serve.conftest import poisson, step


def _res(**kw):
    return simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                    step_model=step(), **kw)


def test_json_is_strict_and_complete():
    reqs = RequestSet(arrival_s=np.array([0.0, 0.0, 1.0]), prompt_tokens=np.array([100, 9000, 50]),
                      output_tokens=np.array([1, 5, 20]))
    res = _res(requests=reqs, ttft_slo_s=1.0, tpot_slo_s=0.05)
    d = res.to_json_dict(per_request=True)
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["rejected"]["count"] == 1
    assert back["summary"]["completed"] == 2
    assert back["requests"]["first_token_s"][1] is None  # the rejected request
    assert back["summary"]["slo_attainment"] == pytest.approx(2 / 3)
    for key in ("ttft", "tpot", "itl", "e2e", "normalized_latency"):
        for stat in ("mean", "p50", "p90", "p99"):
            assert f"{key}_{stat}_s" in back["summary"]


def test_per_request_figures_by_hand():
    res = _res(requests=RequestSet.fixed(n=1, prompt=200, output=11))
    r = res.requests
    per = per_request(r)
    tt = r.tokens(0)
    assert per["ttft_s"][0] == tt[0] - r.arrival_s[0]
    assert per["tpot_s"][0] == pytest.approx((tt[-1] - tt[0]) / 10)
    assert per["e2e_s"][0] == r.finish_s[0] - r.arrival_s[0] == tt[-1]
    assert np.allclose(inter_token(r), np.diff(tt))
    assert per["normalized_latency_s"][0] == pytest.approx(per["e2e_s"][0] / 11)


def test_progress_reaches_one_and_is_monotone():
    seen = []
    _res(requests=poisson(500, 5.0, seed=11), progress=seen.append)
    assert seen[-1] == 1.0
    assert all(b >= a for a, b in zip(seen, seen[1:]))
    assert len(seen) >= 10


def test_pipeline_and_fp8_instances_run():
    hw, m = hardware("h100-sxm-80gb"), model("llama3-70b")
    reqs = poisson(100, 2.0, seed=12)
    out = {}
    for tp, pp, prec in ((4, 1, "fp16"), (2, 2, "fp16"), (4, 1, "fp8")):
        sm = build_step_model(hardware=hw, model=m, tp=tp, pp=pp, precision=prec,
                              max_tokens=16384, max_batch=512)
        res = simulate(hardware=hw, model=m, requests=reqs, tp=tp, pp=pp, precision=prec,
                       step_model=sm, scheduler=SchedulerConfig(name="vllm",
                                                                max_batched_tokens=8192))
        assert res.chips == 4 and res.summary["completed"] == 100
        out[(tp, pp, prec)] = res.summary
    # fp8 halves the weight bytes: faster decode, more KV room
    assert out[(4, 1, "fp8")]["tpot_p50_s"] < out[(4, 1, "fp16")]["tpot_p50_s"]
    # without micro-batch pipelining a pass crosses both stages: slower than TP4
    assert out[(2, 2, "fp16")]["tpot_p50_s"] > out[(4, 1, "fp16")]["tpot_p50_s"]


def test_long_context_models_get_tables_that_cover_them():
    m = model("llama3-8b").model_copy(update={"max_context": 32768})
    reqs = RequestSet(arrival_s=np.array([0.0, 1.0]), prompt_tokens=np.array([20000, 30000]),
                      output_tokens=np.array([50, 50]))
    res = simulate(hardware=hardware("h200-sxm-141gb"), model=m, requests=reqs)
    assert res.summary["completed"] == 2
    assert res.limits["max_tokens_per_iteration"] == 32768
    # a 30000-token prompt alone takes longer than a 20000-token one
    per = per_request(res.requests)
    assert per["ttft_s"][1] > per["ttft_s"][0]


def test_summary_keys_come_from_the_metric_registry():
    from ador.metrics import (LATENCIES, LATENCY_STATS, OUTPUT_THROUGHPUT, PER_REQUEST,
                              REQUEST_THROUGHPUT, per_chip, summary_key)

    assert summary_key(LATENCIES[0], "p99") == "ttft_p99_s"  # the README's JSON contract
    assert per_chip(OUTPUT_THROUGHPUT) == "output_throughput_tok_per_s_per_chip"
    res = _res(requests=RequestSet.fixed(n=4, prompt=64, output=8))
    s = res.summary
    assert {summary_key(m, stat) for m in LATENCIES for stat, _ in LATENCY_STATS} <= set(s)
    assert set(per_request(res.requests)) == {m.column for m in PER_REQUEST}
    for m in (OUTPUT_THROUGHPUT, REQUEST_THROUGHPUT):
        assert s[per_chip(m)] == pytest.approx(s[m.column] / res.chips)
    assert s[REQUEST_THROUGHPUT.column] == pytest.approx(4 / s["makespan_s"])
