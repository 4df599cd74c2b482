"""The fast engine against the object-per-request reference, and conservation laws."""

from __future__ import annotations

import numpy as np
import pytest

from ador.serve import RequestSet, SchedulerConfig, simulate
from tests.conftest import hardware, model
from tests.serve.conftest import poisson, step

CASES = [
    SchedulerConfig(name="vllm"),
    SchedulerConfig(name="sarathi"),
    SchedulerConfig(name="trtllm"),
    SchedulerConfig(name="static", max_num_seqs=16),
    # a small KV cache forces preemption
    SchedulerConfig(name="vllm", memory_fraction=0.03),
    SchedulerConfig(name="vllm", memory_fraction=0.03, preemption="swap"),
    SchedulerConfig(name="sarathi", memory_fraction=0.03, chunk_tokens=256),
    SchedulerConfig(name="trtllm", memory_fraction=0.03),
]


def _run(cfg, reqs, *, reference=False):
    return simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"), requests=reqs,
                    scheduler=cfg, step_model=step(), reference=reference)


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.name}-{c.memory_fraction}-{c.preemption}")
def test_fast_equals_reference(cfg):
    reqs = poisson(150, 8.0, seed=1)
    fast, ref = _run(cfg, reqs), _run(cfg, reqs, reference=True)
    for name in ("first_token_s", "finish_s", "start_s", "preemptions", "token_times_s"):
        assert np.array_equal(getattr(fast.requests, name), getattr(ref.requests, name),
                              equal_nan=True), name
    for name in ("t_s", "batch_size", "kv_used_tokens", "prefill_tokens", "decode_tokens"):
        assert np.array_equal(getattr(fast.timeseries, name), getattr(ref.timeseries, name)), name


def test_preemption_happens_with_a_small_cache():
    res = _run(SchedulerConfig(name="vllm", memory_fraction=0.03), poisson(150, 8.0, seed=1))
    assert res.summary["preemptions"] > 0
    assert res.summary["kv_occupancy_max"] <= 1.0


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.name}-{c.memory_fraction}-{c.preemption}")
def test_conservation_and_capacity(cfg):
    reqs = poisson(300, 10.0, seed=2)
    res = _run(cfg, reqs)
    r = res.requests
    ok = ~r.rejected
    assert res.rejected.count == int((~ok).sum())
    # every accepted request completes once, with exactly its output tokens, in order
    assert np.all(np.isfinite(r.finish_s[ok]))
    lengths = np.diff(r.token_offsets)
    assert np.array_equal(lengths[ok], r.output_tokens[ok])
    assert np.all(np.isfinite(r.token_times_s))
    for i in np.flatnonzero(ok)[:100]:
        tt = r.tokens(i)
        assert tt[0] == r.first_token_s[i]
        assert np.all(np.diff(tt) > 0)
        assert r.arrival_s[i] <= r.start_s[i] < r.first_token_s[i] <= r.finish_s[i]
    # decode tokens plus prefill-emitted tokens equal the output tokens
    ts = res.timeseries
    assert ts.decode_tokens.sum() + ok.sum() + r.preemptions.sum() >= r.output_tokens[ok].sum()
    assert np.all(ts.kv_used_tokens <= ts.kv_capacity_tokens)
    assert np.all(ts.busy_s > 0)


def test_littles_law():
    reqs = poisson(3000, 6.0, seed=3)
    res = _run(SchedulerConfig(name="vllm"), reqs)
    r = res.requests
    t0, t1 = r.arrival_s.min(), r.finish_s.max()
    # time-average number of requests in the system, from arrival/finish events
    events = np.concatenate([r.arrival_s, r.finish_s])
    steps = np.concatenate([np.ones(r.n), -np.ones(r.n)])
    order = np.argsort(events, kind="stable")
    in_sys = np.cumsum(steps[order])
    dt = np.diff(np.append(events[order], t1))
    mean_n = float(np.sum(in_sys * dt) / (t1 - t0))
    lam = r.n / (t1 - t0)
    mean_e2e = float(np.mean(r.finish_s - r.arrival_s))
    assert mean_n == pytest.approx(lam * mean_e2e, rel=0.03)


def test_closed_loop_keeps_concurrency():
    reqs = RequestSet.fixed(n=64, prompt=256, output=64, concurrency=8)
    res = _run(SchedulerConfig(name="vllm"), reqs)
    assert res.summary["batch_size_max"] <= 8
    r = res.requests
    # the 9th request arrives when the first one completes
    assert np.sort(r.arrival_s)[8] == pytest.approx(np.sort(r.finish_s)[0])


def test_rejects_requests_that_can_never_run():
    reqs = RequestSet(arrival_s=np.array([0.0, 0.1, 0.2]),
                      prompt_tokens=np.array([100, 9000, 100]),
                      output_tokens=np.array([10, 10, 10]))
    res = _run(SchedulerConfig(name="vllm"), reqs)
    assert res.rejected.count == 1
    assert res.rejected.reasons == {"longer than the model context": 1}
    assert np.isfinite(res.requests.finish_s[[0, 2]]).all()
    tiny = _run(SchedulerConfig(name="vllm", memory_fraction=0.001),
                RequestSet.fixed(n=2, prompt=4000, output=100))
    assert tiny.rejected.reasons == {"larger than the whole KV cache": 2}


def test_instances_are_independent_shares():
    reqs = poisson(200, 12.0, seed=13)
    both = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                    requests=reqs, step_model=step(), instances=2)
    one = _run(SchedulerConfig(name="vllm"), reqs.take(slice(1, None, 2)))
    assert np.array_equal(both.requests.finish_s[1::2], one.requests.finish_s)
    assert np.array_equal(both.requests.tokens(3), one.requests.tokens(1))
    assert both.chips == 2
    assert both.limits["instances"] == 2
    assert set(both.timeseries.instance.tolist()) == {0, 1}
    assert np.all(np.diff(both.timeseries.t_s) >= 0)
    closed = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                      requests=RequestSet.fixed(n=40, prompt=100, output=20, concurrency=5),
                      step_model=step(), instances=2)
    assert closed.summary["completed"] == 40


def test_step_model_must_match_the_instance():
    from ador.errors import AdorError

    with pytest.raises(AdorError) as err:
        simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                 requests=RequestSet.fixed(n=2, prompt=10, output=10), tp=2,
                 step_model=step())
    assert err.value.field == "step_model"


@pytest.mark.parametrize("name", ["vllm", "trtllm", "static"])
def test_fast_equals_reference_at_low_load(name):
    """Long decode stretches between arrivals: the fast engine runs them in bulk."""
    reqs = poisson(40, 0.5, seed=14, mean_out=300)
    cfg = SchedulerConfig(name=name)
    fast, ref = _run(cfg, reqs), _run(cfg, reqs, reference=True)
    assert np.array_equal(fast.requests.token_times_s, ref.requests.token_times_s)
    assert np.array_equal(fast.timeseries.t_s, ref.timeseries.t_s)
    assert np.array_equal(fast.timeseries.kv_used_tokens, ref.timeseries.kv_used_tokens)
