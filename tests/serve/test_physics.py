"""Serving results against physical limits and ador's static-batch evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from ador.evaluate.engine import evaluate_population
from ador.model.design import DesignArrays
from ador.serve import RequestSet, SchedulerConfig, build_step_model, find_goodput, simulate
from ador.serve.kv import blocks_for
from ador.spec.scenario import Scenario
from tests.conftest import hardware, model
from tests.serve.conftest import poisson, step


def _static(b, isl, osl, hw="a100-sxm-80gb"):
    return evaluate_population(designs=DesignArrays.from_specs([hardware(hw)]),
                               model=model("llama3-8b"),
                               scenario=Scenario.uniform(precision="fp16", batch=b,
                                                         input_len=isl, output_len=osl))


@pytest.mark.parametrize("name", ["vllm", "sarathi", "trtllm", "static"])
def test_low_load_ttft_and_tpot_are_one_request_alone(name):
    # requests 100 s apart never meet; 512-token prompts fit every scheduler's budget
    reqs = RequestSet(arrival_s=np.arange(5) * 100.0, prompt_tokens=np.full(5, 400),
                      output_tokens=np.full(5, 64))
    cfg = SchedulerConfig(name=name, chunk_tokens=512)
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=reqs, scheduler=cfg, step_model=step())
    ref = _static(1, 400, 64)
    s = res.summary
    assert s["ttft_p99_s"] == pytest.approx(float(ref.ttft[0]), rel=0.01)
    assert s["ttft_p50_s"] == pytest.approx(s["ttft_p99_s"], rel=1e-9)
    assert s["tpot_mean_s"] == pytest.approx(float(ref.tpot[0]), rel=0.01)
    assert s["queueing_p99_s"] == 0.0


def test_max_load_static_batches_match_the_static_model():
    """All requests queued at once, fixed lengths: static batching runs back-to-back
    batches of the KV-limited size, whose throughput is the static-batch model's."""
    isl = osl = 512
    cfg = SchedulerConfig(name="static", memory_fraction=0.1, max_num_seqs=4096,
                          max_batched_tokens=60000)
    sm = step()
    cap = sm.kv_capacity_for(memory_fraction=0.1, activation_tokens=60000)
    b = (cap // 16) // blocks_for(isl + osl, 16)
    assert 8 < b < 100
    reqs = RequestSet.fixed(n=4 * b, prompt=isl, output=osl)
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=reqs, scheduler=cfg, step_model=sm)
    assert res.summary["batch_size_max"] == b
    want = float(_static(b, isl, osl).throughput[0])
    assert res.summary["output_throughput_tok_per_s"] == pytest.approx(want, rel=0.02)


def test_max_load_throughput_is_bounded_by_the_kv_limited_batch():
    isl = osl = 512
    sm = step()
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=RequestSet.fixed(n=600, prompt=isl, output=osl),
                   scheduler=SchedulerConfig(name="vllm", memory_fraction=0.1), step_model=sm)
    cap = sm.kv_capacity_for(memory_fraction=0.1, activation_tokens=8192)
    b = (cap // 16) // blocks_for(isl + osl, 16)
    upper = float(_static(int(1.5 * b), isl, osl).throughput[0])
    assert res.summary["output_throughput_tok_per_s"] <= upper
    assert res.summary["output_throughput_tok_per_s"] >= 0.6 * float(
        _static(b, isl, osl).throughput[0])


def _with_hbm(name: str, per_stack_bytes: float):
    hw = hardware(name)
    hbm = hw.chip.hbm.model_copy(update={"capacity_per_stack_bytes": per_stack_bytes})
    return hw.model_copy(update={"chip": hw.chip.model_copy(update={"hbm": hbm})})


def test_more_hbm_never_lowers_goodput():
    reqs = poisson(400, 5.0, seed=4, mean_in=800, mean_out=300)
    m = model("llama3-8b")
    cfg = SchedulerConfig(name="vllm", memory_fraction=0.15)
    rates = []
    for per_stack in (16e9, 24e9):
        hw = _with_hbm("a100-sxm-80gb", per_stack)
        sm = build_step_model(hardware=hw, model=m, max_tokens=16384, max_batch=512)
        g = find_goodput(requests=reqs, ttft_slo_s=1.0, tpot_slo_s=0.05, hardware=hw, model=m,
                         scheduler=cfg, step_model=sm)
        rates.append(g.rate_per_s)
    assert rates[0] > 0
    assert rates[1] >= rates[0]


def test_goodput_meets_its_definition():
    reqs = poisson(400, 5.0, seed=5)
    hw, m = hardware("a100-sxm-80gb"), model("llama3-8b")
    g = find_goodput(requests=reqs, ttft_slo_s=0.5, tpot_slo_s=0.04, hardware=hw, model=m,
                     step_model=step())
    assert g.simulations <= 12
    assert g.at_rate.summary["slo_attainment"] >= 0.9
    above = simulate(hardware=hw, model=m, requests=reqs.with_rate(g.rate_per_s * 1.1),
                     step_model=step(), ttft_slo_s=0.5, tpot_slo_s=0.04)
    assert above.summary["slo_attainment"] < 0.9 or g.rate_per_s == max(g.rates_tried)


def test_utilisation_is_bounded_and_grows_with_load():
    hw, m = hardware("a100-sxm-80gb"), model("llama3-8b")
    util = []
    for rate in (0.2, 8.0):
        res = simulate(hardware=hw, model=m, requests=poisson(400, rate, seed=10),
                       step_model=step())
        s = res.summary
        assert 0 < s["compute_utilisation"] <= 1
        assert 0 < s["hbm_bandwidth_utilisation"] <= 1
        assert s["busy_fraction"] <= 1 + 1e-9
        util.append((s["compute_utilisation"], s["hbm_bandwidth_utilisation"]))
    assert util[1][0] > util[0][0] and util[1][1] > util[0][1]


def test_decode_alone_reads_the_weights_every_step():
    """One request decoding alone: every decode step reads all weights but the embedding
    table (only its rows are gathered), plus a little KV."""
    hw, m = hardware("a100-sxm-80gb"), model("llama3-8b")
    res = simulate(hardware=hw, model=m, requests=RequestSet.fixed(n=1, prompt=16, output=400),
                   step_model=step())
    s = res.summary
    weights = step().weight_bytes_per_chip - m.vocab * m.hidden * 2
    low = weights * 399 / (hw.chip.hbm.bandwidth_bytes_per_s * s["makespan_s"])
    assert low * 0.95 <= s["hbm_bandwidth_utilisation"] <= low * 1.1


def test_capacity_meets_its_definition():
    from ador.serve import find_capacity
    from ador.serve.metrics import per_request

    reqs = poisson(400, 5.0, seed=15)
    hw, m = hardware("a100-sxm-80gb"), model("llama3-8b")
    cap = find_capacity(requests=reqs, tbt_p99_slo_s=0.1, hardware=hw, model=m,
                        step_model=step(), scheduler=SchedulerConfig(name="sarathi"))
    assert cap.rate_per_s > 0
    s = cap.at_rate.summary
    assert s["itl_p99_s"] <= 0.1
    assert np.nanmedian(per_request(cap.at_rate.requests)["queueing_s"]) < 2.0
