"""The evaluator: identities between metrics, decode averaging against brute force,
vectorisation consistency, feasibility checks and the JSON contract."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ador.errors import InfeasibleError
from ador.evaluate import evaluate, evaluate_population, to_json
from ador.model.compute import col
from ador.model.design import DesignArrays
from ador.model.opcost import op_cost
from ador.spec.precision import RATE_VS_FP16
from ador.spec.scenario import Scenario
from ador.workload.transformer import decode_ops
from tests.conftest import ADOR_TEMPLATES, GPU_TEMPLATES, designs, hardware

ALL = GPU_TEMPLATES + ADOR_TEMPLATES


def step_time(d: DesignArrays, model, scenario: Scenario, context) -> np.ndarray:
    """One decode step at ``context`` cached tokens, summed operator by operator
    (tp = pp = 1: every operator of a layer depends on the previous one)."""
    assert scenario.tp == 1 and scenario.pp == 1
    rate = col(np.full(d.n, RATE_VS_FP16[scenario.compute_precision]))
    total = 0.0
    for op in decode_ops(model, scenario, context):
        total = total + op_cost(d=d, op=op, rate=rate, tp=1).time * op.repeat
    return np.asarray(total)


@pytest.mark.parametrize("output_len", [2, 5, 17])
def test_decode_tpot_is_the_mean_over_every_step(llama3_8b, output_len):
    d = designs(*ALL)
    sc = Scenario(batch=8, input_len=300, output_len=output_len)
    pop = evaluate_population(designs=d, model=llama3_8b, scenario=sc)
    steps = [step_time(d, llama3_8b, sc, float(sc.input_len + j))[:, 0]
             for j in range(1, output_len)]
    np.testing.assert_allclose(pop.tpot, np.mean(steps, axis=0), rtol=1e-12)


def _check_trapezoid(model, sc: Scenario) -> None:
    d = designs(*ALL)
    contexts = np.arange(sc.input_len + 1, sc.input_len + sc.output_len, dtype=float)
    brute = step_time(d, model, sc, contexts).mean(axis=1)
    exact = evaluate_population(designs=d, model=model, scenario=sc, max_points=sc.output_len)
    np.testing.assert_allclose(exact.tpot, brute, rtol=1e-10)
    pop = evaluate_population(designs=d, model=model, scenario=sc)
    np.testing.assert_allclose(pop.tpot, brute, rtol=0.01)


@pytest.mark.parametrize("sc", [Scenario(batch=16, input_len=1024, output_len=2048),
                                Scenario(batch=128, input_len=512, output_len=512),
                                Scenario(batch=1, input_len=4000, output_len=500),
                                Scenario(batch=64, input_len=2000, output_len=3000)],
                         ids=lambda sc: f"b{sc.batch}-i{sc.input_len}-o{sc.output_len}")
def test_trapezoid_integration_is_within_one_percent_of_brute_force(llama3_8b, sc):
    _check_trapezoid(llama3_8b, sc)


def test_trapezoid_integration_survives_staircase_aliasing(llama3_8b):
    """On a 128-wide weight-stationary array the attention step time is a staircase in
    ceil(context / 128); evenly spaced nodes 129 steps apart would all sample the same phase
    of it (1.2% off); the golden-ratio nodes do not."""
    _check_trapezoid(llama3_8b, Scenario(batch=64, input_len=128, output_len=4000))


def test_trapezoid_within_one_percent_with_tensor_parallelism(llama3_70b):
    d = designs(*ALL)
    sc = Scenario(batch=32, input_len=512, output_len=1500, tp=8)
    coarse = evaluate_population(designs=d, model=llama3_70b, scenario=sc)
    exact = evaluate_population(designs=d, model=llama3_70b, scenario=sc, max_points=1499)
    np.testing.assert_allclose(coarse.tpot, exact.tpot, rtol=0.01)


@pytest.mark.parametrize("sc", [Scenario(batch=16, input_len=1024, output_len=256),
                                Scenario(batch=1, input_len=64, output_len=1),
                                Scenario(batch=4, input_len=512, output_len=64, tp=4),
                                Scenario(batch=8, input_len=256, output_len=40, tp=2, pp=2)])
def test_end_to_end_and_throughput_identities(llama3_8b, sc):
    pop = evaluate_population(designs=designs(*ALL), model=llama3_8b, scenario=sc)
    np.testing.assert_allclose(pop.e2e, pop.ttft + (sc.output_len - 1) * pop.tpot, rtol=1e-12)
    np.testing.assert_allclose(pop.throughput, sc.batch * sc.output_len / pop.e2e, rtol=1e-12)
    np.testing.assert_allclose(pop.throughput_per_chip, pop.throughput / sc.chips, rtol=1e-12)
    assert pop.chips == sc.chips
    for arr in (pop.ttft, pop.tpot, pop.e2e, pop.throughput):
        assert np.all(np.isfinite(arr)) and np.all(arr > 0)


def test_population_matches_one_by_one(llama3_8b, chat):
    """Evaluating designs together gives the same numbers as evaluating each alone."""
    together = evaluate_population(designs=designs(*ALL), model=llama3_8b, scenario=chat)
    for i, name in enumerate(ALL):
        alone = evaluate_population(designs=designs(name), model=llama3_8b, scenario=chat)
        for field in ("ttft", "tpot", "e2e", "throughput", "fits_memory", "supported"):
            assert getattr(alone, field)[0] == pytest.approx(getattr(together, field)[i],
                                                             rel=1e-12), (name, field)
        for k, v in together.decode.utilisation.items():
            assert alone.decode.utilisation[k][0] == pytest.approx(v[i], rel=1e-12)


def test_stage_times_are_the_sum_of_operator_times(llama3_8b, chat):
    pop = evaluate_population(designs=designs(*ALL), model=llama3_8b, scenario=chat)
    for stage in (pop.prefill, pop.decode):
        np.testing.assert_allclose(sum(stage.op_times.values()), stage.time, rtol=1e-12)
        np.testing.assert_allclose(sum(stage.class_times.values()), stage.time, rtol=1e-12)


def test_utilisation_is_a_fraction(llama3_8b):
    for sc in (Scenario(batch=1, input_len=128, output_len=16),
               Scenario(batch=128, input_len=512, output_len=512),
               Scenario(batch=16, input_len=1024, output_len=256, tp=4)):
        pop = evaluate_population(designs=designs(*ALL), model=llama3_8b, scenario=sc)
        for stage in (pop.prefill, pop.decode):
            for unit, u in stage.utilisation.items():
                assert np.all((u >= 0) & (u <= 1 + 1e-9)), unit


def test_longer_prompts_and_outputs_cost_more(llama3_8b):
    d = designs(*ALL)
    short = evaluate_population(designs=d, model=llama3_8b,
                                scenario=Scenario(batch=8, input_len=256, output_len=64))
    long_in = evaluate_population(designs=d, model=llama3_8b,
                                  scenario=Scenario(batch=8, input_len=2048, output_len=64))
    long_out = evaluate_population(designs=d, model=llama3_8b,
                                   scenario=Scenario(batch=8, input_len=256, output_len=1024))
    assert np.all(long_in.ttft > short.ttft)
    assert np.all(long_in.tpot >= short.tpot)
    assert np.all(long_out.tpot >= short.tpot)
    assert np.all(long_out.e2e > short.e2e)


def test_memory_fit_and_support_masks(llama3_70b, llama3_8b):
    d = designs("ador-hetero", "a100-sxm-80gb", "h200-sxm-141gb")
    one_chip = evaluate_population(designs=d, model=llama3_70b,
                                   scenario=Scenario(batch=1, input_len=128, output_len=16))
    assert not one_chip.fits_memory.any()  # 141 GB of weights on one chip
    tp4 = evaluate_population(designs=d, model=llama3_70b,
                              scenario=Scenario(batch=1, input_len=128, output_len=16, tp=4))
    assert tp4.fits_memory.all()
    fp8 = evaluate_population(designs=d, model=llama3_8b,
                              scenario=Scenario.uniform(precision="fp8", batch=1, input_len=8,
                                                        output_len=2))
    np.testing.assert_array_equal(fp8.supported, [True, False, True])
    many = evaluate_population(designs=d, model=llama3_8b,
                               scenario=Scenario(batch=1, input_len=8, output_len=2, tp=16))
    assert not many.supported.any()  # 8-chip systems


def test_evaluate_rejects_unsupported_precision_and_too_many_chips(llama3_8b):
    with pytest.raises(InfeasibleError, match="fp8") as info:
        evaluate(hardware=hardware("a100"), model=llama3_8b,
                 scenario=Scenario.uniform(precision="fp8", batch=1, input_len=8, output_len=2))
    assert info.value.field == "precision"
    with pytest.raises(InfeasibleError, match="chips"):
        evaluate(hardware=hardware("ador-hetero"), model=llama3_8b,
                 scenario=Scenario(batch=1, input_len=8, output_len=2, tp=16))


def test_fp8_is_faster_than_fp16_where_supported(llama3_8b):
    d = designs("ador-hetero", "h100-sxm-80gb")
    fp16 = evaluate_population(designs=d, model=llama3_8b,
                               scenario=Scenario(batch=16, input_len=1024, output_len=64))
    fp8 = evaluate_population(designs=d, model=llama3_8b,
                              scenario=Scenario.uniform(precision="fp8", batch=16,
                                                        input_len=1024, output_len=64))
    assert np.all(fp8.ttft < fp16.ttft) and np.all(fp8.tpot < fp16.tpot)


def test_breakdown_agrees_with_the_population(llama3_8b, chat):
    b = evaluate(hardware=hardware("ador-hetero"), model=llama3_8b, scenario=chat)
    pop = evaluate_population(designs=designs("ador-hetero"), model=llama3_8b, scenario=chat)
    assert b.ttft_s == pop.ttft[0] and b.tpot_s == pop.tpot[0]
    assert b.memory_bytes == pop.memory.total
    assert b.prefill.time_s == b.ttft_s
    stage_rows = [r for r in b.operators if r.stage == "prefill"]
    assert sum(r.time_s for r in stage_rows) == pytest.approx(b.ttft_s, rel=1e-12)
    assert {r.name for r in b.operators} >= {"qkv_proj", "o_proj", "gate_up_proj",
                                             "down_proj", "attention", "lm_head"}
    assert all(r.bound in {"compute", "hbm", "sram", "communication", "overhead"}
               for r in b.operators)


JSON_KEYS = {"ttft_s", "tpot_s", "e2e_s", "throughput_tok_s", "throughput_per_chip_tok_s",
             "memory_bytes", "fits_memory", "breakdown"}


def test_json_contract(llama3_8b, chat):
    b = evaluate(hardware=hardware("ador-hetero"), model=llama3_8b, scenario=chat)
    obj = json.loads(json.dumps(to_json(b)))
    assert JSON_KEYS <= set(obj)
    assert obj["ttft_s"] == b.ttft_s and obj["fits_memory"] is True
    assert obj["scenario"]["batch"] == 16
    assert {"memory", "prefill", "decode", "operators"} <= set(obj["breakdown"])
    row = obj["breakdown"]["operators"][0]
    assert {"stage", "name", "class", "time_s", "flops", "hbm_bytes", "bound"} <= set(row)


def test_design_arrays_edits_reach_the_model(llama3_8b, chat):
    """Population fields built directly (no specs) are honoured: a faster clock is faster."""
    d = designs("ador-hetero").take(np.zeros(3, dtype=int))
    d = dataclasses.replace(d, clock_hz=np.array([0.5e9, 1e9, 2e9]))
    pop = evaluate_population(designs=d, model=llama3_8b, scenario=chat)
    assert pop.ttft[0] > pop.ttft[1] > pop.ttft[2]


@pytest.mark.parametrize("k", [1, 3, 8, 13, 32, 33, 200])
def test_weighted_sum_is_numpys_row_sum_bit_for_bit(k):
    from ador.evaluate.engine import weighted_sum

    rng = np.random.default_rng(k)
    w = rng.uniform(0, 1, k)
    w /= w.sum()
    for a in (rng.uniform(0, 1, (300, 1)) * 10.0 ** rng.uniform(-9, 3, (300, 1)),
              rng.uniform(0, 1, (300, k)), rng.uniform(0, 1, k)):
        want = np.sum(np.broadcast_to(a, (300, k)) * w, axis=1)
        assert weighted_sum(a, w, n=300).tobytes() == want.tobytes()


@pytest.mark.parametrize("k", [1, 3, 8, 13, 32, 33, 200])
def test_batched_weighted_sums_equal_one_by_one_bit_for_bit(k):
    """Columns summed block by block (or once, when every design has the same bits), rows
    over contexts and scalars, all in one batch."""
    from ador.evaluate import engine
    from ador.evaluate.engine import weighted_sum, weighted_sums

    rng = np.random.default_rng(k)
    w = rng.uniform(0, 1, k)
    w /= w.sum()
    n = 700
    arrays = [rng.uniform(0, 1, (n, 1)) * 10.0 ** rng.uniform(-9, 3, (n, 1)),
              rng.uniform(0, 1, (n, k)), rng.uniform(0, 1, k), np.zeros((n, 1)), 2.5,
              np.array([[np.inf]]), rng.uniform(0, 1, (1, k)), np.full((n, 1), 3.7),
              # the same value with other bits (signed zeros), and NaN, are not "the same"
              np.where(rng.uniform(size=(n, 1)) > 0.5, -0.0, 0.0),
              np.where(rng.uniform(size=(n, 1)) > 0.9, np.nan, 1.0)]
    block = engine._BLOCK
    try:
        engine._BLOCK = 256  # several blocks, the last one partial
        got = weighted_sums(arrays, w, n=n)
    finally:
        engine._BLOCK = block
    for a, g in zip(arrays, got, strict=True):
        assert g.shape == (n,)
        assert g.tobytes() == weighted_sum(a, w, n=n).tobytes()
