"""Clusters and policies: conservation, capacity, degenerate cases, engines agreeing."""

from __future__ import annotations

import numpy as np
import pytest

from ador.errors import AdorError
from ador.serve.api import simulate
from ador.serve.cluster import Link, transfer_flows
from ador.serve.policies import simulate_cluster
from ador.serve.routers import ROUTERS, RouteTarget
from ador.serve.stepviews import bandwidth_share
from ador.spec.cluster import (
    AccellmSpec,
    AdrenalineSpec,
    ClusterSpec,
    PoolSpec,
    SemiPdSpec,
)
from tests.conftest import hardware, model
from tests.serve.conftest import poisson, step

M = "llama3-8b"


def reqs(n=150, rate=6.0):
    return poisson(n, rate, mean_in=400, mean_out=80, max_in=2000, max_out=400)


def tokens_of(res, i):
    r = res.requests
    return r.token_times_s[r.token_offsets[i]:r.token_offsets[i + 1]]


PD = ClusterSpec(policy="disaggregated", prefill=PoolSpec(count=2), decode=PoolSpec(count=2),
                 router="least_work")


def test_colocated_one_instance_equals_simulate():
    rq = reqs()
    a = simulate_cluster(cluster=ClusterSpec(pool=PoolSpec()), model=model(M), requests=rq)
    b = simulate(hardware=hardware("a100-sxm-80gb"), model=model(M), requests=rq,
                 step_model=step())
    np.testing.assert_array_equal(a.requests.token_times_s, b.requests.token_times_s)
    np.testing.assert_array_equal(a.requests.finish_s, b.requests.finish_s)


def test_pd_loses_and_duplicates_nothing_and_moves_all_kv():
    rq = reqs()
    res = simulate_cluster(cluster=PD, model=model(M), requests=rq)
    r = res.requests
    assert not r.rejected.any()
    # every request emits exactly its output tokens, in order, after arriving
    np.testing.assert_array_equal(np.diff(r.token_offsets), rq.output_tokens)
    for i in range(rq.n):
        t = tokens_of(res, i)
        assert np.all(np.diff(t) >= 0) and t[0] >= rq.arrival_s[i]
        assert t[-1] == r.finish_s[i]
    kv_per_token = step().kv_bytes_per_token_all
    produced = float((rq.prompt_tokens[rq.output_tokens > 1] * kv_per_token).sum())
    assert res.limits["kv_transferred_bytes"] == pytest.approx(produced)
    assert res.limits["kv_produced_bytes"] == pytest.approx(produced)
    assert res.chips == 4
    ts = res.timeseries
    assert np.all(ts.kv_used_tokens <= ts.kv_capacity_tokens)
    assert set(np.unique(ts.instance)) <= {0, 1, 2, 3}


def test_pd_fast_engine_equals_reference():
    rq = reqs(80)
    a = simulate_cluster(cluster=PD, model=model(M), requests=rq)
    b = simulate_cluster(cluster=PD, model=model(M), requests=rq, reference=True)
    np.testing.assert_allclose(a.requests.token_times_s, b.requests.token_times_s, rtol=1e-12)


def test_adrenaline_ratio_zero_equals_pd():
    rq = reqs()
    spec = PD.model_copy(update={"policy": "adrenaline",
                                 "adrenaline": AdrenalineSpec(offload_ratio=0.0)})
    a = simulate_cluster(cluster=spec, model=model(M), requests=rq)
    b = simulate_cluster(cluster=PD, model=model(M), requests=rq)
    np.testing.assert_array_equal(a.requests.token_times_s, b.requests.token_times_s)


def test_adrenaline_offload_enlarges_decode_batch_and_keeps_requests():
    rq = poisson(300, 30.0, mean_in=800, mean_out=300, max_in=3000, max_out=1500)
    one = PD.model_copy(update={"prefill": PoolSpec(), "decode": PoolSpec()})
    base = simulate_cluster(cluster=one, model=model("llama2-7b"), requests=rq)
    spec = one.model_copy(update={"policy": "adrenaline"})
    ad = simulate_cluster(cluster=spec, model=model("llama2-7b"), requests=rq)
    assert 0 < ad.limits["offload_ratio"] <= 0.7
    np.testing.assert_array_equal(np.diff(ad.requests.token_offsets), rq.output_tokens)
    assert ad.extras["offloaded"].sum() > 0
    assert ad.summary["batch_size_max"] > base.summary["batch_size_max"]
    assert ad.summary["makespan_s"] < base.summary["makespan_s"]


def test_semi_pd_full_shares_without_contention_is_pd_on_one_chip():
    rq = reqs()
    semi = ClusterSpec(policy="semi_pd", pool=PoolSpec(),
                       semi_pd=SemiPdSpec(prefill_share=1.0, decode_share=1.0,
                                          contention=False))
    a = simulate_cluster(cluster=semi, model=model(M), requests=rq)
    assert a.chips == 1 and a.limits["kv_transferred_bytes"] == 0.0
    # same as 1P1D with a link of infinite speed (no transfer): both workers full speed
    from ador.serve.cluster import Disaggregated, Instance, simulate_disaggregated
    from ador.serve.stepviews import KvLoadStep
    from ador.spec.scheduler import SchedulerConfig
    st, cfg = step(), SchedulerConfig()
    setup = Disaggregated(prefill=[Instance(st, cfg, 1)], decode=[Instance(KvLoadStep(st), cfg, 1)],
                          link=None, kv_bytes_per_token=st.kv_bytes_per_token_all, layers=32)
    b = simulate_disaggregated(setup=setup, requests=rq, max_context=8192)
    np.testing.assert_array_equal(a.requests.token_times_s, b.requests.token_times_s)
    assert b.chips == 2


def test_semi_pd_decode_share_zero_refused_and_smaller_share_slower():
    with pytest.raises(AdorError):
        simulate_cluster(cluster=ClusterSpec(policy="semi_pd", pool=PoolSpec(),
                                             semi_pd=SemiPdSpec(prefill_share=1.0,
                                                                decode_share=0.0)),
                         model=model(M), requests=reqs(20))
    rq = reqs()
    tpot = []
    for y in (0.3, 0.6, 1.0):
        spec = ClusterSpec(policy="semi_pd", pool=PoolSpec(),
                           semi_pd=SemiPdSpec(prefill_share=1.0, decode_share=y,
                                              contention=False))
        tpot.append(simulate_cluster(cluster=spec, model=model(M), requests=rq)
                    .summary["tpot_mean_s"])
    assert tpot[0] > tpot[1] > tpot[2]


def test_transfer_flows_serialize_per_link_and_layerwise_overlaps():
    link = Link(bytes_per_s=1e9, latency_s=1e-3)
    ready = np.array([1.0, 1.0, 1.0])
    start = np.array([0.5, 0.5, 0.5])
    end = transfer_flows(ready_s=ready, start_s=start, src=np.array([0, 0, 1]),
                         dst=np.array([0, 1, 2]), nbytes=np.array([1e8, 1e8, 1e8]),
                         link=link, layers=10)
    np.testing.assert_allclose(end, [1.101, 1.201, 1.101])  # shared source waits
    lw = Link(bytes_per_s=1e9, latency_s=0.0, layerwise=True)
    end = transfer_flows(ready_s=ready[:1], start_s=start[:1], src=np.array([0]),
                         dst=np.array([0]), nbytes=np.array([1e8]), link=lw, layers=10)
    np.testing.assert_allclose(end, [1.01])  # last layer's share after the prefill ends


def test_routers():
    arr = np.arange(100) * 0.01
    p = np.full(100, 500)
    o = np.full(100, 100)
    fast = RouteTarget(prefill_tokens_per_s=1e5, decode_tokens_per_s=2e3, kv_capacity_tokens=10**5)
    slow = RouteTarget(prefill_tokens_per_s=2.5e4, decode_tokens_per_s=5e2, kv_capacity_tokens=10**5)
    rr = ROUTERS["round_robin"](arrival_s=arr, prompt=p, output=o, targets=[fast, slow])
    assert (rr == 0).sum() == 50
    lw = ROUTERS["least_work"](arrival_s=arr, prompt=p, output=o, targets=[fast, slow])
    assert (lw == 0).sum() > 70  # the 4x faster instance takes most work
    small = RouteTarget(prefill_tokens_per_s=1e5, decode_tokens_per_s=2e3, kv_capacity_tokens=5000)
    kv = ROUTERS["kv_aware"](arrival_s=arr, prompt=p, output=o, targets=[fast, small])
    assert (kv == 0).sum() > (kv == 1).sum()


def test_bandwidth_share_curve():
    assert bandwidth_share(0.2) == pytest.approx(0.6)
    assert bandwidth_share(1.0) == 1.0 and bandwidth_share(0.0) == 0.0
    xs = np.linspace(0.05, 1, 20)
    assert np.all(np.diff([bandwidth_share(x) for x in xs]) > 0)


def test_spec_needs_pools():
    with pytest.raises(ValueError):
        ClusterSpec(policy="disaggregated", pool=PoolSpec())


def test_semi_pd_contention_and_controller():
    from ador.serve.policies import DECODE_COMPUTE_FRACTION, semi_pd_shares
    assert semi_pd_shares(prefill_share=0.5, decode_share=0.5, contention=True) == (0.5, 0.5)
    x, y = semi_pd_shares(prefill_share=1.0, decode_share=1.0, contention=True)
    assert (x, y) == (pytest.approx(1 - DECODE_COMPUTE_FRACTION), 1.0)
    rq = reqs(300, 12.0)
    fixed = ClusterSpec(policy="semi_pd", pool=PoolSpec(),
                        semi_pd=SemiPdSpec(prefill_share=1.0, decode_share=1.0))
    ctl = fixed.model_copy(update={"semi_pd": fixed.semi_pd.model_copy(
        update={"controller": True})})
    a = simulate_cluster(cluster=fixed, model=model(M), requests=rq, ttft_slo_s=0.2,
                         tpot_slo_s=0.1)
    b = simulate_cluster(cluster=ctl, model=model(M), requests=rq, ttft_slo_s=0.2,
                         tpot_slo_s=0.1)
    np.testing.assert_array_equal(np.diff(b.requests.token_offsets), rq.output_tokens)
    if a.summary["slo_attainment"] < 0.9:  # the controller moved a share and did no harm
        assert (b.limits["prefill_share"], b.limits["decode_share"]) != (1.0, 1.0)
        assert b.summary["slo_attainment"] >= a.summary["slo_attainment"] - 0.02


def test_accellm_conserves_requests_and_copies_by_redundancy():
    from ador.serve.accellm import copied_mask
    assert copied_mask(10, 0.3).sum() == 3 and copied_mask(10, 1.0).all()
    assert not copied_mask(10, 0.0).any()
    rq = reqs(200, 8.0)
    kv = step().kv_bytes_per_token_all
    moved = []
    for r in (0.0, 0.5, 1.0):
        spec = ClusterSpec(policy="accellm", pool=PoolSpec(count=2),
                           accellm=AccellmSpec(redundancy=r))
        res = simulate_cluster(cluster=spec, model=model(M), requests=rq)
        np.testing.assert_array_equal(np.diff(res.requests.token_offsets), rq.output_tokens)
        assert res.chips == 2 and not res.requests.rejected.any()
        dec = rq.output_tokens > 1
        want = copied_mask(int(dec.sum()), r)
        assert res.limits["kv_transferred_bytes"] == pytest.approx(
            float((rq.prompt_tokens[dec][want] * kv).sum()))
        ts = res.timeseries
        assert np.all(ts.kv_used_tokens <= ts.kv_capacity_tokens)
        moved.append(res.limits["kv_transferred_bytes"])
    assert moved[0] == 0.0 < moved[1] < moved[2]


def test_accellm_copies_without_eviction_take_kv_room():
    rq = reqs(50)
    caps = []
    for evict in (True, False):
        spec = ClusterSpec(policy="accellm", pool=PoolSpec(count=2), accellm=AccellmSpec(
            redundancy=1.0, evict_under_pressure=evict))
        res = simulate_cluster(cluster=spec, model=model(M), requests=rq)
        ts = res.timeseries
        caps.append(ts.kv_capacity_tokens[ts.decode_tokens > 0].max())
    assert caps[1] == pytest.approx(caps[0] / 2, rel=1e-3)


def test_accellm_needs_pairs():
    with pytest.raises(ValueError):
        ClusterSpec(policy="accellm", pool=PoolSpec(count=3))


@pytest.mark.parametrize("spec", [
    ClusterSpec(policy="semi_pd", pool=PoolSpec()),
    ClusterSpec(policy="adrenaline", prefill=PoolSpec(), decode=PoolSpec()),
    ClusterSpec(policy="accellm", pool=PoolSpec(count=2), accellm=AccellmSpec(redundancy=0.5)),
], ids=["semi_pd", "adrenaline", "accellm"])
def test_policies_fast_engine_equals_reference(spec):
    rq = poisson(60, 20.0, mean_in=400, mean_out=200, max_in=2000, max_out=800)
    a = simulate_cluster(cluster=spec, model=model(M), requests=rq)
    b = simulate_cluster(cluster=spec, model=model(M), requests=rq, reference=True)
    np.testing.assert_allclose(a.requests.token_times_s, b.requests.token_times_s, rtol=1e-9)
    np.testing.assert_array_equal(a.requests.preemptions, b.requests.preemptions)


def test_decode_pool_preempts_by_swap_and_loses_nothing():
    # a decode instance with a small KV cache must preempt; swapped requests come back
    rq = poisson(120, 50.0, mean_in=1500, mean_out=1500, max_in=3000, max_out=3000)
    spec = PD.model_copy(update={"prefill": PoolSpec(), "decode": PoolSpec(
        scheduler=PD.decode.scheduler.model_copy(update={"memory_fraction": 0.05}))})
    res = simulate_cluster(cluster=spec, model=model("llama2-7b"), requests=rq)
    r = res.requests
    ok = ~r.rejected
    assert res.summary["preemptions"] > 0
    np.testing.assert_array_equal(np.diff(r.token_offsets)[ok], rq.output_tokens[ok])
    ts = res.timeseries
    assert np.all(ts.kv_used_tokens <= ts.kv_capacity_tokens)


def test_heterogeneous_pool_router_favours_the_faster_chip():
    rq = reqs(300, 20.0)
    spec = ClusterSpec(router="least_work", pool=PoolSpec(hardware="h100-sxm-80gb"),
                       more_pools=[PoolSpec(hardware="a100-sxm-80gb")])
    res = simulate_cluster(cluster=spec, model=model(M), requests=rq)
    assert res.chips == 2
    np.testing.assert_array_equal(np.diff(res.requests.token_offsets), rq.output_tokens)
    ts = res.timeseries
    tokens = [(ts.prefill_tokens + ts.decode_tokens)[ts.instance == k].sum() for k in (0, 1)]
    assert tokens[0] > tokens[1]  # the H100 (instance 0) serves more tokens
    rr = simulate_cluster(cluster=spec.model_copy(update={"router": "round_robin"}),
                          model=model(M), requests=rq)
    assert res.summary["e2e_mean_s"] <= rr.summary["e2e_mean_s"]


def test_algorithm1_decisions_by_hand():
    from ador.serve.policies import _algorithm1
    kw = {"ttft_slo": 0.3, "tpot_slo": 0.1, "step": 0.1, "contention": False}
    # TTFT 0.6 s at x = 0.5: the 1/x model needs x = 1.0 (five steps)
    assert _algorithm1(x=0.5, y=0.5, ttft_q=0.6, tpot_q=0.05, max_steps=6, **kw) == (
        pytest.approx(1.0), 0.5)
    assert _algorithm1(x=0.5, y=0.5, ttft_q=0.6, tpot_q=0.05, max_steps=2, **kw) == (
        pytest.approx(0.7), 0.5)
    # both miss or both meet: no move
    assert _algorithm1(x=0.5, y=0.5, ttft_q=0.6, tpot_q=0.2, max_steps=6, **kw) == (0.5, 0.5)
    assert _algorithm1(x=0.5, y=0.5, ttft_q=0.1, tpot_q=0.05, max_steps=6, **kw) == (0.5, 0.5)
    # TPOT misses: the decode share grows until bandwidth_share predicts it met
    x, y = _algorithm1(x=0.5, y=0.1, ttft_q=0.1, tpot_q=0.2, max_steps=6, **kw)
    assert x == 0.5 and 0.1 < y and 0.2 * bandwidth_share(0.1) / bandwidth_share(y) <= 0.1


def test_share_schedule_constant_equals_fixed_and_windowed_controller_keeps_requests():
    from ador.serve.policies import RunContext, run_semi_pd
    rq = reqs(200, 12.0)
    spec = ClusterSpec(policy="semi_pd", pool=PoolSpec(),
                       semi_pd=SemiPdSpec(prefill_share=0.6, decode_share=0.5))
    ctx = RunContext(spec=spec, model=model(M), ttft_slo_s=None, tpot_slo_s=None)
    a = run_semi_pd(ctx, rq)
    b = run_semi_pd(ctx, rq, schedule=((0.0, 0.6, 0.5), (5.0, 0.6, 0.5)))
    np.testing.assert_array_equal(a.requests.token_times_s, b.requests.token_times_s)
    c = run_semi_pd(ctx, rq, schedule=((0.0, 0.6, 0.5), (5.0, 1.0, 1.0)))
    late = rq.arrival_s > 6.0  # faster workers after the switch
    def ttft(r):
        return (r.requests.first_token_s - rq.arrival_s)[late].mean()

    assert ttft(c) < ttft(a)
    win = spec.model_copy(update={"semi_pd": spec.semi_pd.model_copy(update={
        "controller": True, "window_requests": 50, "switch_delay_s": 0.2})})
    d = simulate_cluster(cluster=win, model=model(M), requests=rq, ttft_slo_s=0.1,
                         tpot_slo_s=0.05)
    np.testing.assert_array_equal(np.diff(d.requests.token_offsets), rq.output_tokens)
    assert "share_switches" in d.limits


def test_offload_bound_by_hand_and_too_high_a_ratio_slows_decode():
    from ador.serve.policies import offload_bound
    st = step()
    local = st.kv_capacity_for(memory_fraction=0.9, activation_tokens=4096)
    # plenty of spare KV: the bandwidth bound (0.6 of one chip against one chip) decides
    r = offload_bound(prefill_step=st, decode_step=st, executor_share=0.2, prefill_count=1,
                      decode_count=1, prefill_kv_spare_tokens=10 * local)
    assert r == pytest.approx(0.6 / 1.6)
    # little spare KV: the memory bound decides
    r = offload_bound(prefill_step=st, decode_step=st, executor_share=0.2, prefill_count=1,
                      decode_count=1, prefill_kv_spare_tokens=local // 4)
    assert r == pytest.approx(0.25 / 1.25, rel=1e-3)
    rq = poisson(200, 30.0, mean_in=300, mean_out=600, max_in=1000, max_out=2000)
    tpot = []
    for ratio in (0.3, 0.9):
        spec = ClusterSpec(policy="adrenaline", prefill=PoolSpec(), decode=PoolSpec(),
                           adrenaline=AdrenalineSpec(offload_ratio=ratio, executor_share=0.2,
                                                     apply_offload_bound=False))
        tpot.append(simulate_cluster(cluster=spec, model=model("llama2-7b"), requests=rq)
                    .summary["tpot_p50_s"])
    assert tpot[1] > tpot[0]
