"""Scheduler limits and settings, by hand."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from ador.errors import AdorError
from ador.serve import RequestSet, SchedulerConfig, simulate
from ador.serve.api import make_scheduler
from ador.serve.schedulers import SCHEDULERS, derive_limits
from tests.conftest import hardware, model
from tests.serve.conftest import poisson, step


def test_table_names_every_scheduler():
    assert set(SCHEDULERS) == {"static", "vllm", "sarathi", "trtllm"}


def test_trtllm_bench_limits_by_hand():
    # llama3-8b fp16 on one 80 GB GPU, ISL = OSL = 128:
    # R = 0.95 (80e9 - 16.06e9) / (131072 x 256) = 1810 -> 256 ceil(1810/256) = 2048;
    # t = 1810 x 2 = 3621 -> max(2048, 256 ceil(3621/256)) = 3840
    b, t = derive_limits(memory_bytes_total=80e9, weight_bytes_total=16.06e9,
                         kv_bytes_per_token=131072, isl=128, osl=128)
    assert (b, t) == (2048, 3840)
    # small R: at least 64 and 2048
    assert derive_limits(memory_bytes_total=80e9, weight_bytes_total=16.06e9,
                         kv_bytes_per_token=131072, isl=8192, osl=8192) == (64, 2048)
    # 2048/2048: R = 113 -> 128; t = 113 x 2 = 226 -> 2048
    assert derive_limits(memory_bytes_total=80e9, weight_bytes_total=16.06e9,
                         kv_bytes_per_token=131072, isl=2048, osl=2048) == (128, 2048)


def test_trtllm_limits_come_from_the_step_model():
    sm = step()
    sched, kv, limits = make_scheduler(config=SchedulerConfig(name="trtllm"), step=sm,
                                       requests=RequestSet.fixed(n=4, prompt=128, output=128),
                                       max_context=8192)
    assert limits["max_running"] == 2048
    assert limits["max_tokens_per_iteration"] == 3840
    fixed = make_scheduler(config=SchedulerConfig(name="trtllm", max_batch_size=100,
                                                  max_num_tokens=4000), step=sm,
                           requests=RequestSet.fixed(n=4, prompt=128, output=128),
                           max_context=8192)[2]
    assert (fixed["max_running"], fixed["max_tokens_per_iteration"]) == (100, 4000)


def test_trtllm_never_preempts_and_reserves_whole_requests():
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=poisson(300, 20.0, seed=6),
                   scheduler=SchedulerConfig(name="trtllm", memory_fraction=0.03),
                   step_model=step())
    assert res.summary["preemptions"] == 0
    assert res.summary["kv_occupancy_max"] <= 1.0


def test_sarathi_iterations_stay_within_the_token_budget():
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=poisson(300, 10.0, seed=7),
                   scheduler=SchedulerConfig(name="sarathi", chunk_tokens=512,
                                             max_num_seqs=64),
                   step_model=step())
    ts = res.timeseries
    with_prefill = ts.prefill_tokens > 0
    assert np.all(ts.prefill_tokens[with_prefill] + ts.decode_tokens[with_prefill] <= 512)
    assert ts.batch_size.max() <= 64


def test_vllm_prefill_iterations_pause_decodes():
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=poisson(200, 10.0, seed=8), scheduler=SchedulerConfig(name="vllm"),
                   step_model=step())
    ts = res.timeseries
    assert np.all((ts.prefill_tokens == 0) | (ts.decode_tokens == 0))
    assert np.all(ts.prefill_tokens <= 8192)


def test_static_batches_run_to_their_longest_member():
    reqs = RequestSet(arrival_s=np.zeros(3), prompt_tokens=np.array([100, 300, 200]),
                      output_tokens=np.array([5, 50, 20]))
    res = simulate(hardware=hardware("a100-sxm-80gb"), model=model("llama3-8b"),
                   requests=reqs, scheduler=SchedulerConfig(name="static"), step_model=step())
    r = res.requests
    assert np.all(r.finish_s == r.finish_s[1])
    assert np.all(r.first_token_s == r.first_token_s[0])
    assert res.timeseries.t_s.size == 50  # one prefill and 49 decode steps
    assert res.timeseries.prefill_tokens[0] == 3 * 300  # padded to the longest prompt


@pytest.mark.parametrize("bad", [{"name": "fifo"}, {"memory_fraction": 0.0},
                                 {"memory_fraction": 1.5}, {"max_num_seqs": 0},
                                 {"watermark_fraction": 1.0}, {"preemption": "kill"},
                                 {"swap_bandwidth_bytes_per_s": "25 GB"}, {"chunk": 5}])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValidationError):
        SchedulerConfig(**bad)


def test_config_parses_units_and_defaults():
    cfg = SchedulerConfig(name="vllm", swap_bandwidth_bytes_per_s="32 GB/s")
    assert cfg.swap_bandwidth_bytes_per_s == 32e9
    assert cfg.kv_memory_fraction == 0.9
    assert SchedulerConfig(name="trtllm").kv_memory_fraction == 0.95


@pytest.mark.parametrize("kwargs,field", [
    ({"arrival_s": [0.0, 1.0], "prompt_tokens": [1, 0], "output_tokens": [1, 1]}, "requests"),
    ({"arrival_s": [1.0, 0.5], "prompt_tokens": [1, 1], "output_tokens": [1, 1]}, "arrival_s"),
    ({"arrival_s": [0.0], "prompt_tokens": [1, 2], "output_tokens": [1]}, "requests"),
    ({"arrival_s": [], "prompt_tokens": [], "output_tokens": []}, "requests"),
])
def test_request_set_rejects_bad_input(kwargs, field):
    with pytest.raises(AdorError) as err:
        RequestSet(**{k: np.array(v) for k, v in kwargs.items()})
    assert err.value.field == field


def test_with_rate_rescales_mean_rate():
    reqs = poisson(1000, 3.0, seed=9)
    fast = reqs.with_rate(12.0)
    assert (fast.n - 1) / (fast.arrival_s[-1] - fast.arrival_s[0]) == pytest.approx(12.0)
    assert np.array_equal(fast.prompt_tokens, reqs.prompt_tokens)
    with pytest.raises(AdorError):
        reqs.with_rate(0.0)
    burst = RequestSet.fixed(n=5, prompt=10, output=10).with_rate(2.0)
    assert np.allclose(burst.arrival_s, np.arange(5) / 2.0)
