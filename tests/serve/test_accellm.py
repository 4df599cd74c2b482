"""AcceLLM with dynamic roles per chip: the role step view by hand, the pair router, and
cluster runs (conservation, decode never running in a prefill window, KV within capacity,
redundancy 0 as static disaggregation, fast engine equal to the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from ador.serve.accellm import pair_prefill_router
from ador.serve.cluster import Disaggregated, Instance, node_link, prefill_windows
from ador.serve.cluster import simulate_disaggregated as sim_pd
from ador.serve.policies import decode_scheduler, pool_step, simulate_cluster
from ador.serve.routers import RouteTarget
from ador.serve.stepviews import RoleStep
from ador.spec.cluster import AccellmSpec, ClusterSpec, PoolSpec
from ador.spec.io import load_hardware
from tests.conftest import model
from tests.serve.conftest import poisson, step

M = "llama3-8b"
WINDOWS = (np.array([1.0, 3.0]), np.array([2.0, 3.5]))


def spec(r: float = 1.0, count: int = 2, evict: bool = True) -> ClusterSpec:
    return ClusterSpec(policy="accellm", router="least_work", pool=PoolSpec(count=count),
                       accellm=AccellmSpec(redundancy=r, evict_under_pressure=evict))


def test_role_step_waits_for_and_stretches_over_prefill_windows_by_hand():
    v = RoleStep(step(), windows=WINDOWS)
    assert v.finish_after(0.0, 0.5) == 0.5  # before any window
    assert v.finish_after(0.5, 1.0) == 2.5  # 0.5 s, the window 1-2, 0.5 s
    assert v.finish_after(1.5, 1.0) == 3.0  # waits to 2, ends as the next window starts
    assert v.finish_after(1.5, 1.2) == pytest.approx(3.7)  # and over the second one
    # busy less window time: 1.5 .. 3.7 holds 0.5 + 0.5 s of windows
    np.testing.assert_allclose(v.decode_busy(np.array([3.7, 0.5]), np.array([2.2, 0.5])),
                               [1.2, 0.5])
    # a router's estimate (no time told yet) sees no window
    base = step().time(tokens=8, sampled=8, decode_n=8, decode_ctx_sum=8000)
    assert v.time(tokens=8, sampled=8, decode_n=8, decode_ctx_sum=8000) == base


def test_role_step_bulk_decode_times_equal_one_at_a_time():
    windows = (np.arange(0.0, 1.0, 0.05), np.arange(0.0, 1.0, 0.05) + 0.02)
    v = RoleStep(step(), windows=windows)
    v.at(0.013)
    bulk = v.decode_times(16, 16 * 900, 60)
    t, one = 0.013, []
    for j in range(60):
        v.at(t)
        dt = v.time(tokens=16, sampled=16, decode_n=16, decode_ctx_sum=16 * 900 + j * 16)
        one.append(dt)
        t += dt
    np.testing.assert_array_equal(bulk, one)
    assert bulk.sum() > step().decode_times(16, 16 * 900, 60).sum()  # windows crossed


def test_pair_router_sends_prompts_to_the_chip_free_sooner_ties_alternate():
    tg = [RouteTarget(prefill_tokens_per_s=1000.0, decode_tokens_per_s=100.0,
                      kv_capacity_tokens=10**6)] * 2
    route = pair_prefill_router("round_robin")
    got = route(arrival_s=np.array([0.0, 0.0, 0.0, 5.0, 5.0]),
                prompt=np.array([1000, 500, 100, 10, 10]), output=np.ones(5, np.int64),
                targets=tg)
    # 0 -> chip 0 (tie); 1 -> chip 1 (less backlog); 2 -> chip 1 (0.5 s < 1 s);
    # at 5 s both drained: ties alternate
    np.testing.assert_array_equal(got, [0, 1, 1, 1, 0])


def _chip_checks(res, count: int) -> None:
    ts = res.timeseries
    span = res.summary["makespan_s"]
    for k in range(count):
        pre = ts.instance == k
        dec = ts.instance == count + k
        busy = ts.busy_s[pre].sum() + ts.busy_s[dec].sum()
        assert busy <= span * (1 + 1e-9)
        starts, ends = ts.t_s[pre] - ts.busy_s[pre], ts.t_s[pre]
        # no decode iteration ends inside one of its chip's prefill windows
        t = ts.t_s[dec]
        j = np.searchsorted(ends, t, side="left")
        inside = (j < ends.size) & (t > starts[np.minimum(j, ends.size - 1)] + 1e-12) & (
            t < ends[np.minimum(j, ends.size - 1)] - 1e-12)
        assert not inside.any()
        assert np.all(ts.busy_s[dec] >= -1e-12)


@pytest.mark.parametrize("r,evict", [(0.0, True), (0.5, True), (1.0, True), (1.0, False)])
def test_accellm_every_request_once_decode_outside_prefill_windows_kv_within(r, evict):
    rq = poisson(200, 12.0, mean_in=600, mean_out=150, max_in=3000, max_out=600)
    res = simulate_cluster(cluster=spec(r, count=4, evict=evict), model=model(M),
                           requests=rq)
    np.testing.assert_array_equal(np.diff(res.requests.token_offsets), rq.output_tokens)
    assert not res.requests.rejected.any() and np.all(np.isfinite(res.requests.finish_s))
    ts = res.timeseries
    assert np.all(ts.kv_used_tokens <= ts.kv_capacity_tokens)
    # copies kept (no eviction) take 1 / (1 + r) of each decode instance's KV room
    ref = simulate_cluster(cluster=spec(r, count=4), model=model(M), requests=rq).timeseries
    ratio = ts.kv_capacity_tokens[ts.instance >= 4].max() / ref.kv_capacity_tokens[
        ref.instance >= 4].max()
    assert ratio == pytest.approx(1.0 if evict else 1.0 / (1.0 + r), rel=1e-3)
    _chip_checks(res, 4)
    assert 0.0 < res.limits["prefill_time_share"] <= res.limits["prefill_time_share_max"] < 1
    assert res.limits["prefill_instances"] == 4


def test_accellm_redundancy_zero_is_static_disaggregation_with_dynamic_roles():
    rq = poisson(120, 6.0, mean_in=500, mean_out=120, max_in=2000, max_out=500)
    cl = spec(0.0)
    a = simulate_cluster(cluster=cl, model=model(M), requests=rq)
    assert a.limits["kv_transferred_bytes"] == 0.0
    # the same chips with decode where prefilled and no link at all
    p = cl.main_pool
    base = pool_step(p, model(M))
    ds = decode_scheduler(p.scheduler)
    setup = Disaggregated(
        prefill=[Instance(base, p.scheduler, p.tp, "prefill")] * 2,
        decode=[Instance(RoleStep(base), ds, p.tp, "decode")] * 2, link=None,
        kv_bytes_per_token=base.kv_bytes_per_token_all, layers=model(M).layers, chips=2,
        same_instance=True, prefill_route=pair_prefill_router(cl.router),
        decode_views=lambda pre: [Instance(RoleStep(base, windows=prefill_windows(pre, k)),
                                           ds, p.tp, "decode") for k in range(2)])
    b = sim_pd(setup=setup, requests=rq, max_context=model(M).max_context, router=cl.router)
    np.testing.assert_array_equal(a.requests.token_times_s, b.requests.token_times_s)
    assert node_link(load_hardware(p.hardware), tp=1).bytes_per_s > 0


def test_accellm_fast_engine_equals_reference_across_prefill_windows():
    # full redundancy: a chip's decodes run through prefills of prompts that decode on
    # its partner, which are no arrival of its own (bulk runs cross the windows)
    rq = poisson(150, 25.0, mean_in=800, mean_out=300, max_in=3000, max_out=1000)
    a = simulate_cluster(cluster=spec(1.0), model=model(M), requests=rq)
    b = simulate_cluster(cluster=spec(1.0), model=model(M), requests=rq, reference=True)
    np.testing.assert_array_equal(a.requests.token_times_s, b.requests.token_times_s)
    np.testing.assert_array_equal(a.timeseries.busy_s, b.timeseries.busy_s)


def test_prefill_time_share_is_refused():
    with pytest.raises(ValueError, match="dynamic"):
        AccellmSpec(prefill_time_share=0.3)
