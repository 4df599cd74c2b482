"""The analytical estimate of semi-PD serving: the simulator's share rules, degenerate
shares, monotonicity in the decode worker's share, and agreement with ``ador cluster``."""

from __future__ import annotations

import numpy as np
import pytest

from ador.errors import AdorError
from ador.model.design import DesignArrays
from ador.serve.cluster_run import run_cluster
from ador.serve.estimate_pd import estimate_disaggregated
from ador.serve.estimate_semipd import effective_shares, estimate_semi_pd
from ador.serve.policies import DECODE_COMPUTE_FRACTION
from ador.serve.steptime import memory_terms
from ador.serve.stepviews import bandwidth_share
from ador.serve.workloads import apply_overrides, load_workload, requests_from_spec
from ador.spec.cluster import ClusterSpec, PoolSpec, SemiPdSpec
from ador.spec.io import dump_yaml, load_hardware, load_model
from ador.spec.scenario import Scenario
from ador.spec.scheduler import SchedulerConfig

# NVIDIA A100 SXM datasheet: 312 TFLOPS dense FP16 tensor-core peak
A100_PEAK_FLOPS = 312e12


def _requests(workload: str, n: int):
    spec, base = load_workload(workload)
    spec = apply_overrides(spec, {"num_requests": n})
    return spec, requests_from_spec(spec, base_dir=base)


def _estimate(*, hw: str = "a100", x, y, workload: str = "fixed-512-512", n: int = 400,
              rate=None, ttft: float | None = None, tpot: float | None = None,
              scheduler: SchedulerConfig | None = None):
    spec, req = _requests(workload, n)
    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    k = max(x.size, y.size)
    return estimate_semi_pd(
        designs=DesignArrays.from_specs([load_hardware(hw)] * k), model=load_model("llama3-8b"),
        tp=np.ones(k, dtype=int), prompt_tokens=req.prompt_tokens,
        output_tokens=req.output_tokens, scheduler=scheduler or SchedulerConfig(),
        prefill_share=np.broadcast_to(x, (k,)), decode_share=np.broadcast_to(y, (k,)),
        rate_per_s=float(rate if rate is not None else spec.arrivals.rate),
        ttft_slo_s=ttft or float(spec.slo.ttft), tpot_slo_s=tpot or float(spec.slo.tpot))


def test_contention_mirrors_the_simulators_rule():
    """Shares summing above 1: the prefill gets min(x, 1 - 0.26 y), the decode keeps y;
    at most 1 in sum: both as given."""
    x, y = effective_shares(n=3, prefill_share=np.array([0.8, 0.5, 1.0]),
                            decode_share=np.array([1.0, 0.5, 0.3]))
    assert x[0] == pytest.approx(1.0 - DECODE_COMPUTE_FRACTION * 1.0)
    assert x[1] == 0.5 and x[2] == pytest.approx(1.0 - DECODE_COMPUTE_FRACTION * 0.3)
    assert list(y) == [1.0, 0.5, 0.3]


@pytest.mark.parametrize("field,x,y", [("decode_share", 1.0, 0.0),
                                       ("prefill_share", 0.0, 1.0),
                                       ("decode_share", 0.5, 1.5)])
def test_degenerate_shares_are_refused_as_the_simulator_refuses_them(field, x, y):
    """A decode share of 0 never decodes (``run_semi_pd`` refuses it), a prefill share of 0
    never prefills (``SemiPdSpec`` refuses it): the estimate names the share."""
    with pytest.raises(AdorError, match="share") as err:
        _estimate(x=x, y=y, n=50)
    assert err.value.field == field


def test_semi_pd_is_one_prefill_and_one_decode_worker_at_their_shares():
    """With shares (1, 1) and no contention the workers would be a 1P1D deployment on an
    infinitely fast link; semi-PD at (0.5, 0.5) runs the prefill worker at half speed and
    the decode worker at bandwidth_share(0.5) of the bandwidth: its mean TTFT at a low rate
    (no wait) is twice the 1P1D's and its TPOT 1 / bandwidth_share(0.5) times."""
    _, req = _requests("fixed-512-512", 200)
    hw = DesignArrays.from_specs([load_hardware("a100")])
    common = dict(model=load_model("llama3-8b"), tp=np.ones(1, dtype=int),
                  prompt_tokens=req.prompt_tokens, output_tokens=req.output_tokens,
                  scheduler=SchedulerConfig(), rate_per_s=1e-3, ttft_slo_s=1.0,
                  tpot_slo_s=0.1)
    pd = estimate_disaggregated(prefill=hw, decode=hw, prefill_instances=np.ones(1),
                                decode_instances=np.ones(1), link_bytes_per_s=np.array([1e30]),
                                link_latency_s=np.zeros(1), **common)
    semi = estimate_semi_pd(designs=hw, prefill_share=0.5, decode_share=0.5, **common)
    assert semi.ttft_mean_s[0] == pytest.approx(2.0 * pd.ttft_mean_s[0], rel=1e-3)
    assert semi.tpot_mean_s[0] == pytest.approx(pd.tpot_mean_s[0] / bandwidth_share(0.5),
                                                rel=1e-3)


def test_a_chunked_decode_worker_takes_the_prompt_in_budget_sized_chunks():
    """fixed-512-512 at a near-zero rate (batch about 0): with Sarathi-Serve's 300-token
    budget a prompt is taken in ceil(512 / 300) = 2 iterations, with 4,096 in one; each
    adds one decode iteration to the request's 511 decode steps."""
    mean = {}
    for chunk in (300, 4096):
        est = _estimate(x=0.8, y=1.0, rate=1e-4, n=100,
                        scheduler=SchedulerConfig(name="sarathi", chunk_tokens=chunk))
        mean[chunk] = float(est.tpot_mean_s[0])
    assert mean[300] / mean[4096] == pytest.approx((1 + 2 / 511) / (1 + 1 / 511), rel=1e-4)


def test_more_decode_share_never_raises_the_tpot():
    """Prefill share 0.5 (contention never cuts it below 0.74): a larger decode share
    leaves the prefill alone and speeds every decode iteration."""
    y = np.linspace(0.1, 1.0, 10)
    est = _estimate(x=0.5, y=y, rate=1.0)
    for tpot in (est.tpot_p99_s, est.tpot_mean_s):
        assert np.all(np.isfinite(tpot)) and np.all(np.diff(tpot) <= 0)
    assert np.all(np.diff(est.max_throughput_per_s) >= -1e-9 * est.max_throughput_per_s[1:])
    assert np.ptp(est.ttft_p99_s) <= 1e-9 * est.ttft_p99_s[0]  # the prefill worker's own


def test_goodput_is_within_each_workers_capacity_at_its_share():
    """Goodput <= what the prefill worker computes at its effective share x' (2 FLOPs per
    parameter per prompt token at x' of the A100's datasheet peak) and <= what the decode
    worker streams at bandwidth_share(y) of the HBM (max_num_seqs requests per step, each
    step reading every weight once)."""
    model = load_model("llama3-8b")
    y = np.array([0.2, 0.5, 1.0])
    est = _estimate(x=0.8, y=y)
    xe, _ = effective_shares(n=3, prefill_share=0.8, decode_share=y)
    prefill_cap = xe * A100_PEAK_FLOPS / (2.0 * model.params * 512)
    terms = memory_terms(model=model, scenario=Scenario.uniform(
        precision="fp16", batch=1, input_len=1, output_len=2), activation_tokens=2048)
    step_s = terms["weight_bytes_total"] / load_hardware("a100").chip.hbm.bandwidth_bytes_per_s
    decode_cap = (SchedulerConfig().max_num_seqs * np.array([bandwidth_share(s) for s in y])
                  / (511 * step_s))
    g = est.goodput_per_s
    assert np.all(g > 0)
    assert np.all(g <= est.max_throughput_per_s)
    assert np.all(est.max_throughput_per_s <= np.minimum(prefill_cap, decode_cap))


# (workload, requests, hardware, prefill share, decode share, scheduler): semi-PD's
# defaults on a decode-bound workload, an even split on long prompts, the defaults on an
# H100, and Sarathi-Serve's 1,024-token chunks on both workers; the estimate leaves out
# finite-run effects, so the runs are long enough for a steady state
SARATHI = SchedulerConfig(name="sarathi", chunk_tokens=1024)
CASES = [("fixed-512-512", 2000, "a100", 0.8, 1.0, None),
         ("lognormal-poisson", 1000, "a100", 0.5, 0.5, None),
         ("lognormal-poisson", 1000, "h100", 0.8, 1.0, None),
         ("lognormal-poisson", 1000, "a100", 1.0, 0.5, SARATHI)]
# goodput within 12 %, P99 TTFT within 70 %, P99 TPOT within 20 % at the workload's rate
# (measured: goodput 5-8 % low, TTFT up to 64 % high at an even split, TPOT up to 15 %
# low; scripts/check_semipd_estimate.py)
GOODPUT_TOL, TTFT_TOL, TPOT_TOL = 0.12, 0.70, 0.20


@pytest.mark.slow
@pytest.mark.parametrize("workload,n,hw,x,y,scheduler", CASES)
def test_estimate_agrees_with_the_cluster_simulator(tmp_path, workload, n, hw, x, y,
                                                    scheduler):
    slo = {"ttft": 2.0, "tpot": 0.1} if workload == "lognormal-poisson" else {}
    est = _estimate(hw=hw, x=x, y=y, workload=workload, n=n, ttft=slo.get("ttft"),
                    tpot=slo.get("tpot"), scheduler=scheduler)
    cluster = tmp_path / "c.yaml"
    pool = PoolSpec(hardware=hw, scheduler=scheduler or SchedulerConfig())
    cluster.write_text(dump_yaml(ClusterSpec(policy="semi_pd", pool=pool,
                                             semi_pd=SemiPdSpec(prefill_share=x,
                                                                decode_share=y))))
    out = run_cluster(cluster=str(cluster), workload=workload, model="llama3-8b", options={},
                      overrides={"num_requests": n}, goodput=True,
                      ttft_slo=f"{slo['ttft']} s" if slo else None,
                      tpot_slo=f"{slo['tpot']} s" if slo else None)
    assert float(est.goodput_per_s[0]) == pytest.approx(out["goodput"]["rate_per_s"],
                                                        rel=GOODPUT_TOL)
    assert float(est.ttft_p99_s[0]) == pytest.approx(out["summary"]["ttft_p99_s"],
                                                     rel=TTFT_TOL)
    assert float(est.tpot_p99_s[0]) == pytest.approx(out["summary"]["tpot_p99_s"],
                                                     rel=TPOT_TOL)
