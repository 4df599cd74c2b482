"""The tabulated step-time model against direct evaluation with ador's cost model."""

from __future__ import annotations

import numpy as np
import pytest

from ador.evaluate.engine import evaluate_population
from ador.model.design import DesignArrays
from ador.serve.steptime import direct_step_time
from ador.spec.scenario import Scenario
from tests.conftest import hardware, model
from tests.serve.conftest import step

BOUND = 0.02  # documented error bound of the tables


def _static(hw, m, b, isl, osl, tp=1):
    return evaluate_population(designs=DesignArrays.from_specs([hardware(hw)]), model=model(m),
                               scenario=Scenario.uniform(precision="fp16", batch=b,
                                                         input_len=isl, output_len=osl, tp=tp))


@pytest.mark.parametrize("hw", ["a100-sxm-80gb", "h100-sxm-80gb"])
@pytest.mark.parametrize("b,L", [(1, 17), (1, 1000), (8, 512), (64, 128), (3, 2900), (1, 7000)])
def test_pure_prefill_matches_static_evaluator(hw, b, L):
    sm = step(hw)
    got = sm.time(tokens=b * L, sampled=b, chunks=[(L, 0)] * b)
    want = float(_static(hw, "llama3-8b", b, L, 2).ttft[0])
    assert got == pytest.approx(want, rel=BOUND)


@pytest.mark.parametrize("hw", ["a100-sxm-80gb", "h100-sxm-80gb"])
@pytest.mark.parametrize("b,c", [(1, 100), (7, 777), (32, 2049), (200, 300), (256, 5000),
                                 (333, 1500), (1000, 700)])
def test_pure_decode_matches_static_evaluator(hw, b, c):
    sm = step(hw)
    got = sm.time(tokens=b, sampled=b, decode_n=b, decode_ctx_sum=b * c)
    want = float(_static(hw, "llama3-8b", b, c - 1, 2).tpot[0])  # one step at context c
    assert got == pytest.approx(want, rel=BOUND)


def test_tensor_parallel_decode_matches():
    sm = step("h100-sxm-80gb", "llama3-70b", 4)
    got = sm.time(tokens=64, sampled=64, decode_n=64, decode_ctx_sum=64 * 1200)
    want = float(_static("h100-sxm-80gb", "llama3-70b", 64, 1199, 2, tp=4).tpot[0])
    assert got == pytest.approx(want, rel=BOUND)


def test_mixed_batches_match_direct_evaluation():
    rng = np.random.default_rng(0)
    sm = step()
    hw, m = hardware("a100-sxm-80gb"), model("llama3-8b")
    worst = 0.0
    for _ in range(25):
        nd = int(rng.integers(0, 300))
        ctx = rng.integers(20, 6000, nd)
        chunks = [(int(rng.integers(1, 1500)), int(rng.integers(0, 4000)))
                  for _ in range(int(rng.integers(0 if nd else 1, 4)))]
        got = sm.time(tokens=nd + sum(c for c, _ in chunks), sampled=nd + len(chunks),
                      decode_n=nd, decode_ctx_sum=float(ctx.sum()), chunks=chunks)
        want = direct_step_time(hardware=hw, model=m, decode_contexts=ctx.tolist(),
                                chunks=chunks)
        worst = max(worst, abs(got / want - 1))
    assert worst <= BOUND


def test_kv_capacity_by_hand():
    sm = step()
    # llama3-8b fp16: 128 KiB of KV per token; 16.06 GB of weights
    assert sm.kv_bytes_per_token == 131072
    assert sm.weight_bytes_per_chip == pytest.approx(16.06e9, rel=1e-3)
    cap = sm.kv_capacity_for(memory_fraction=0.9, activation_tokens=0)
    assert cap == int(0.9 * (80e9 - sm.weight_bytes_per_chip) // 131072)
    assert sm.kv_capacity_for(memory_fraction=0.9, activation_tokens=8192) < cap
