"""The analytical estimate of prefill/decode disaggregated serving: physical bounds,
monotonicity in the pool sizes, and agreement with ``ador cluster``'s simulator."""

from __future__ import annotations

import numpy as np
import pytest

from ador.model.design import DesignArrays
from ador.serve.cluster import node_link
from ador.serve.cluster_run import run_cluster
from ador.serve.estimate_pd import estimate_disaggregated
from ador.serve.steptime import memory_terms
from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
from ador.spec.cluster import ClusterSpec, PoolSpec
from ador.spec.io import dump_yaml, load_hardware, load_model
from ador.spec.scenario import Scenario
from ador.spec.scheduler import SchedulerConfig

# NVIDIA A100 SXM datasheet: 312 TFLOPS dense FP16 tensor-core peak
A100_PEAK_FLOPS = 312e12


def _requests(workload: str, n: int):
    spec, base = load_workload(workload)
    spec = apply_overrides(spec, {"num_requests": n})
    return spec, requests_from_spec(spec, base_dir=base)


def _estimate(*, prefill: str, decode: str, x, y, workload: str, n: int, rate=None,
              ttft: float | None = None, tpot: float | None = None):
    spec, req = _requests(workload, n)
    hw_p, hw_d = load_hardware(prefill), load_hardware(decode)
    link = node_link(hw_p, tp=1)
    x, y = np.atleast_1d(x), np.atleast_1d(y)
    k = max(x.size, y.size)
    return estimate_disaggregated(
        prefill=DesignArrays.from_specs([hw_p] * k), decode=DesignArrays.from_specs([hw_d] * k),
        model=load_model("llama3-8b"), tp=np.ones(k, dtype=int),
        prompt_tokens=req.prompt_tokens, output_tokens=req.output_tokens,
        scheduler=SchedulerConfig(), prefill_instances=np.broadcast_to(x, (k,)),
        decode_instances=np.broadcast_to(y, (k,)), link_bytes_per_s=np.full(k, link.bytes_per_s),
        link_latency_s=np.full(k, link.latency_s),
        rate_per_s=float(rate if rate is not None else spec.arrivals.rate),
        ttft_slo_s=ttft or float(spec.slo.ttft), tpot_slo_s=tpot or float(spec.slo.tpot))


def test_1p1d_goodput_is_within_each_pools_capacity():
    """Goodput <= what one prefill instance can compute (2 FLOPs per parameter per prompt
    token at the A100's datasheet peak) and <= what one decode instance can stream
    (max_num_seqs requests per step, each step reading every weight once from HBM)."""
    est = _estimate(prefill="a100", decode="a100", x=1, y=1, workload="fixed-512-512", n=400)
    model = load_model("llama3-8b")
    prefill_cap = A100_PEAK_FLOPS / (2.0 * model.params * 512)
    terms = memory_terms(model=model, scenario=Scenario.uniform(
        precision="fp16", batch=1, input_len=1, output_len=2), activation_tokens=2048)
    step_s = terms["weight_bytes_total"] / load_hardware("a100").chip.hbm.bandwidth_bytes_per_s
    decode_cap = SchedulerConfig().max_num_seqs / (511 * step_s)
    g = float(est.goodput_per_s[0])
    assert 0 < g <= float(est.max_throughput_per_s[0]) <= min(prefill_cap, decode_cap)
    # at the goodput the prefill pool is busy less than all the time
    assert float(est.prefill_busy_fraction[0]) < 1.0


def test_more_prefill_instances_never_lower_goodput_when_ttft_binds():
    """Long prompts, a tight TTFT and a large decode pool: the prefill pool decides."""
    x = np.array([1, 2, 3, 4])
    est = _estimate(prefill="a100", decode="a100", x=x, y=4, workload="lognormal-poisson",
                    n=400, ttft=0.6, tpot=0.1)
    g = est.goodput_per_s
    assert np.all(np.diff(g) >= 0)
    assert g[1] > 1.5 * g[0]  # TTFT binds: a second prefill instance nearly doubles it
    ttft_only = _estimate(prefill="a100", decode="a100", x=x, y=4,
                          workload="lognormal-poisson", n=400, ttft=1e3, tpot=0.1)
    assert np.all(g <= ttft_only.goodput_per_s)  # a looser SLO never lowers goodput


def test_more_decode_instances_never_lower_goodput():
    est = _estimate(prefill="a100", decode="a100", x=4, y=np.array([1, 2, 3]),
                    workload="fixed-512-512", n=400)
    assert np.all(np.diff(est.goodput_per_s) >= 0)
    assert est.goodput_per_s[1] > 1.5 * est.goodput_per_s[0]  # decode-bound


def test_kv_transfer_lands_in_tpot_not_ttft():
    """A slower link leaves TTFT alone (the first token comes from the prefill instance)
    and adds transfer / (O - 1) to each request's TPOT."""
    _, req = _requests("fixed-512-512", 200)
    hw = load_hardware("a100")
    kw = dict(prefill=DesignArrays.from_specs([hw] * 2), decode=DesignArrays.from_specs([hw] * 2),
              model=load_model("llama3-8b"), tp=np.ones(2, dtype=int),
              prompt_tokens=req.prompt_tokens, output_tokens=req.output_tokens,
              scheduler=SchedulerConfig(), prefill_instances=np.ones(2),
              decode_instances=np.ones(2), link_latency_s=np.zeros(2), rate_per_s=2.0,
              ttft_slo_s=1.0, tpot_slo_s=0.05)
    est = estimate_disaggregated(link_bytes_per_s=np.array([1e15, 1e9]), **kw)
    assert est.ttft_p99_s[0] == est.ttft_p99_s[1]
    kv = memory_terms(model=load_model("llama3-8b"), scenario=Scenario.uniform(
        precision="fp16", batch=1, input_len=1, output_len=2),
        activation_tokens=2048)["kv_bytes_per_token_all"]
    added = 512 * kv / 1e9 / 511
    assert est.tpot_p99_s[1] - est.tpot_p99_s[0] == pytest.approx(added, rel=1e-3)


# (workload, requests, prefill hardware, decode hardware, x, y): a decode-bound and a
# prefill-heavy deployment with different pool hardware; the estimate leaves out
# finite-run effects, so the simulated runs are long enough to reach a steady state
CASES = [("fixed-512-512", 2000, "a100", "a100", 2, 1),
         ("lognormal-poisson", 1000, "h100", "a100", 1, 2)]
# goodput within 15 %, P99 TTFT within 35 % at the workload's rate
GOODPUT_TOL, TTFT_TOL = 0.15, 0.35


@pytest.mark.slow
@pytest.mark.parametrize("workload,n,pre,dec,x,y", CASES)
def test_estimate_agrees_with_the_cluster_simulator(tmp_path, workload, n, pre, dec, x, y):
    slo = {"ttft": 2.0, "tpot": 0.1} if workload == "lognormal-poisson" else {}
    est = _estimate(prefill=pre, decode=dec, x=x, y=y, workload=workload, n=n,
                    ttft=slo.get("ttft"), tpot=slo.get("tpot"))
    cluster = tmp_path / "c.yaml"
    cluster.write_text(dump_yaml(ClusterSpec(policy="disaggregated",
                                             prefill=PoolSpec(hardware=pre, count=x),
                                             decode=PoolSpec(hardware=dec, count=y))))
    out = run_cluster(cluster=str(cluster), workload=workload, model="llama3-8b", options={},
                      overrides={"num_requests": n}, goodput=True,
                      ttft_slo=f"{slo['ttft']} s" if slo else None,
                      tpot_slo=f"{slo['tpot']} s" if slo else None)
    sim = out["goodput"]["rate_per_s"]
    assert float(est.goodput_per_s[0]) == pytest.approx(sim, rel=GOODPUT_TOL)
    assert float(est.ttft_p99_s[0]) == pytest.approx(out["summary"]["ttft_p99_s"],
                                                     rel=TTFT_TOL)
