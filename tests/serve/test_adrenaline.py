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
