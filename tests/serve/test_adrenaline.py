"""Adrenaline: the prefill's slowdown beside the attention executor (roofline of the
reduced shares) and per-request offload admission on the decode instances."""

from __future__ import annotations

import numpy as np
import pytest

from ador.serve.stepviews import ExecutorSharedStep, bandwidth_share, executor_prefill_view
from tests.serve.conftest import step


def _prefill(view, tokens: int):
    n = max(tokens // 512, 1)
    chunks = [(tokens // n, 0)] * n
    return view.time(tokens=tokens, sampled=n, chunks=chunks)


def test_prefill_slowdown_rule_by_hand():
    st = step()
    v = ExecutorSharedStep(st, compute_share=0.8, hbm_share=0.5)
    tokens, chunks = 2048, [(512, 0)] * 4
    t = st.time(tokens=tokens, sampled=4, chunks=chunks)
    scores = 4 * 512 * (512 + 1) / 2.0
    flops, nbytes = st.work.totals(tokens=[tokens], sampled=[4], decode_n=[0],
                                   decode_ctx_sum=[0], scores=[scores], prior_tokens=[0],
                                   new_tokens=[tokens])
    tc, tm = flops / st.work.peak_flops, nbytes / st.work.hbm_bytes_per_s
    assert tc > tm  # a 2048-token prefill is compute-bound
    expect = t - tc + max(tc / 0.8, tm / 0.5)
    assert v.time(tokens=tokens, sampled=4, chunks=chunks) == pytest.approx(expect, rel=1e-12)


def test_compute_bound_prefill_slows_sub_linearly_and_monotonically():
    st = step()
    base = _prefill(st, 4096)
    prev = 1.0
    for e in (0.1, 0.2, 0.3):
        ratio = _prefill(executor_prefill_view(st, executor_share=e), 4096) / base
        assert prev < ratio < 1.0 / (1.0 - e)  # slower, but less than linear in the SMs
        prev = ratio
    # the override: time / share ** exponent (1: linear)
    lin = executor_prefill_view(st, executor_share=0.2, exponent=1.0)
    assert _prefill(lin, 4096) == pytest.approx(base / 0.8, rel=1e-12)
    half = executor_prefill_view(st, executor_share=0.2, exponent=0.5)
    assert _prefill(half, 4096) == pytest.approx(base / 0.8 ** 0.5, rel=1e-12)


def test_executor_bandwidth_is_taken_from_the_prefill():
    v = executor_prefill_view(step(), executor_share=0.2)
    assert v.compute_share == 0.8
    assert v.hbm_share == pytest.approx(1.0 - bandwidth_share(0.2))  # 0.4
    # a short, bandwidth-heavy prefill then slows more than a long compute-bound one
    st = step()
    short = _prefill(v, 64) / _prefill(st, 64)
    long = _prefill(v, 4096) / _prefill(st, 4096)
    assert short > long > 1.0
    assert np.isfinite(short)


# -- per-request offload admission ---------------------------------------------------------

from ador.serve.kv import blocks_for  # noqa: E402
from ador.serve.offload import OffloadLedger, OffloadRule  # noqa: E402
from ador.serve.policies import pool_step, simulate_cluster  # noqa: E402
from ador.spec.cluster import AdrenalineSpec, ClusterSpec, PoolSpec  # noqa: E402
from tests.conftest import model  # noqa: E402
from tests.serve.conftest import poisson  # noqa: E402


def test_ledger_admission_by_hand():
    # room for 2 x 112 tokens (7 blocks of 16 each), bound 0.5
    led = OffloadLedger(OffloadRule(bound=0.5, budget_tokens=224), n=6, block_tokens=16)
    assert not led.admit(0, max_tokens=100, decoding=0)  # 1/1 > 0.5
    assert led.admit(1, max_tokens=100, decoding=1)  # 1/2, 112 tokens
    assert not led.admit(2, max_tokens=100, decoding=2)  # 2/3 > 0.5
    assert led.admit(3, max_tokens=112, decoding=3)  # 2/4, 224 tokens: full
    assert not led.admit(4, max_tokens=1, decoding=10)  # 240 > 224
    assert led.used_tokens == 224 and led.offloaded.tolist() == [0, 1, 0, 1, 0, 0]
    assert led.decoding == 0  # admitted in this plan: decoding from the next iteration
    led.new_iteration()
    assert led.decoding == 2
    led.finished([1, 0])
    assert led.decoding == 1 and led.used_tokens == 112
    assert led.admit(5, max_tokens=50, decoding=10)  # 64 tokens fit again


ONE = ClusterSpec(policy="disaggregated", prefill=PoolSpec(), decode=PoolSpec())


def _adrenaline(ratio, *, rq, bound=True):
    spec = ONE.model_copy(update={"policy": "adrenaline", "adrenaline": AdrenalineSpec(
        offload_ratio=ratio, executor_share=0.2, apply_offload_bound=bound)})
    return simulate_cluster(cluster=spec, model=model("llama2-7b"), requests=rq)


def test_offloaded_kv_within_the_prefill_room_and_share_within_the_bound():
    rq = poisson(250, 30.0, mean_in=600, mean_out=400, max_in=2000, max_out=2000)
    res = _adrenaline(0.6, rq=rq, bound=False)
    off = res.extras["offloaded"]
    assert 0 < off.sum() < rq.n
    bound, budget = res.limits["offload_ratio"], res.limits["offload_budget_tokens"]
    # at every offload admission: share within the bound, KV at max length within the room
    assert np.all(res.extras["offload_share_at_admission"][off] <= bound + 1e-12)
    assert np.all(res.extras["offload_kv_tokens_at_admission"][off] <= budget)
    # and over time: offloaded requests' max-length KV, from decode admission to completion
    r = res.requests
    need = np.array([blocks_for(p + o, 16) * 16 for p, o in
                     zip(rq.prompt_tokens, rq.output_tokens, strict=True)])
    idx = np.flatnonzero(off)
    admitted = res.extras["decode_admitted_s"]
    for t in np.sort(admitted[idx]):
        live = idx[(admitted[idx] <= t) & (r.finish_s[idx] > t)]
        assert need[live].sum() <= budget
    # the prefill keeps the rest of its pool: its own KV within it, and both within the chip
    st = pool_step(PoolSpec(), model("llama2-7b"))
    chip = st.kv_capacity_for(memory_fraction=0.9, activation_tokens=4096)
    pre = res.timeseries.instance == 0
    cap = res.timeseries.kv_capacity_tokens[pre]
    assert np.all(res.timeseries.kv_used_tokens[pre] <= cap)
    assert cap.max() + budget <= chip
    # no request lost or repeated
    np.testing.assert_array_equal(np.diff(r.token_offsets), rq.output_tokens)


def test_ratio_zero_offloads_nothing_and_offloading_follows_the_ratio():
    rq = poisson(200, 30.0, mean_in=600, mean_out=400, max_in=2000, max_out=2000)
    zero = _adrenaline(0.0, rq=rq)
    pd = simulate_cluster(cluster=ONE, model=model("llama2-7b"), requests=rq)
    np.testing.assert_array_equal(zero.requests.token_times_s, pd.requests.token_times_s)
    assert zero.limits["offload_ratio"] == 0.0
    counts = [_adrenaline(x, rq=rq, bound=False).extras["offloaded"].sum()
              for x in (0.2, 0.5)]
    assert 0 < counts[0] < counts[1]
