"""Serving policies over a cluster: each builds its instances (step views, pools, link) from
a ``ClusterSpec`` and runs them through the cluster layer (one event loop for all).

- ``colocated``: one pool behind the router.
- ``disaggregated``: DistServe / Splitwise PD disaggregation.
- ``semi_pd``: semi-PD (arXiv 2504.19867): on every instance a prefill worker with a share x
  and a decode worker with a share y of the compute units, one KV pool, no KV transfer.
- ``adrenaline``: Adrenaline (arXiv 2503.20552): PD disaggregation whose decode instances
  admit each request to offloading (KV and attention in an executor on the prefill
  instances) when its max-length KV fits their spare KV and the offloaded share stays
  within the offload bound (``ador.serve.offload``), the prefill running on the remaining
  SMs and HBM bandwidth (``ExecutorSharedStep``).
- ``accellm``: AcceLLM (arXiv 2411.05555): instances in pairs, roles per chip and dynamic:
  a prompt goes to the pair's chip free sooner, which prefills at full speed while its
  decodes wait (``ador.serve.accellm``); KV duplicated layer by layer to the partner for a
  ``redundancy`` share of the requests, each of those decoding on the less loaded holder;
  the share of time in the prefill role is measured (``prefill_time_share`` in limits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ador.metrics import TPOT, TTFT
from ador.serve.accellm import accellm_plan, pair_prefill_router, prefill_time_shares
from ador.serve.api import default_step_model
from ador.serve.cluster import (
    Disaggregated,
    Instance,
    network_link,
    node_link,
    prefill_windows,
    run_stage,
    simulate_colocated,
    simulate_disaggregated,
)
from ador.serve.offload import OffloadRule
from ador.serve.requests import RequestSet
from ador.serve.results import ServingResult
from ador.serve.stepviews import (
    KvLoadStep,
    OffloadStep,
    RoleStep,
    ShareStep,
    bandwidth_share,
    executor_prefill_view,
)
from ador.spec.cluster import ClusterSpec, PoolSpec
from ador.spec.io import load_hardware
from ador.spec.model import ModelSpec
from ador.spec.scheduler import SchedulerConfig

# Adrenaline's controller tries executor shares on this grid (fractions of the SMs)
EXECUTOR_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
STEPS: dict = {}  # step models by (hardware, model, tp, tokens): building one takes ~0.1-1 s


def decode_scheduler(config: SchedulerConfig) -> SchedulerConfig:
    """A decode-side worker preempts by swapping KV to host memory (charged over the host
    link): it cannot recompute a prompt whose prefill ran elsewhere, and the step views
    charge a loaded prompt no compute."""
    return config.model_copy(update={"preemption": "swap"})


def pool_step(pool: PoolSpec, model: ModelSpec):
    from ador.serve.api import tokens_needed
    key = (pool.hardware, model, pool.tp, tokens_needed(pool.scheduler, model.max_context))
    if key not in STEPS:
        STEPS[key] = default_step_model(hardware=load_hardware(pool.hardware), model=model,
                                        tp=pool.tp, scheduler=pool.scheduler)
    return STEPS[key]


@dataclass(frozen=True)
class RunContext:
    spec: ClusterSpec
    model: ModelSpec
    ttft_slo_s: float | None
    tpot_slo_s: float | None
    reference: bool = False


def _link(ctx: RunContext):
    s, p = ctx.spec, ctx.spec.prefill_pool
    if s.link.placement == "node":
        return node_link(load_hardware(p.hardware), tp=p.tp, layerwise=s.link.layerwise)
    return network_link(tp=p.tp, bytes_per_s_per_chip=s.link.network_bytes_per_s_per_chip,
                        latency_s=s.link.network_latency_s, layerwise=s.link.layerwise)


def run_colocated(ctx: RunContext, requests: RequestSet) -> ServingResult:
    inst = []
    for p in [ctx.spec.main_pool, *ctx.spec.more_pools]:
        inst += [Instance(pool_step(p, ctx.model), p.scheduler, p.tp)] * p.count
    return simulate_colocated(instances=inst, requests=requests,
                              max_context=ctx.model.max_context, router=ctx.spec.router,
                              ttft_slo_s=ctx.ttft_slo_s, tpot_slo_s=ctx.tpot_slo_s,
                              reference=ctx.reference)


def _two_pools(ctx: RunContext, prefill_step, decode_step, *, name: str) -> Disaggregated:
    pre, dec = ctx.spec.prefill_pool, ctx.spec.decode_pool
    base = pool_step(pre, ctx.model)
    setup = Disaggregated(
        prefill=[Instance(prefill_step, pre.scheduler, pre.tp, "prefill")] * pre.count,
        decode=[Instance(decode_step, decode_scheduler(dec.scheduler), dec.tp, "decode")]
        * dec.count,
        link=_link(ctx), kv_bytes_per_token=base.kv_bytes_per_token_all,
        layers=ctx.model.layers)
    return setup


def run_disaggregated(ctx: RunContext, requests: RequestSet) -> ServingResult:
    s = ctx.spec
    setup = _two_pools(ctx, pool_step(s.prefill_pool, ctx.model),
                       KvLoadStep(pool_step(s.decode_pool, ctx.model)), name="disaggregated")
    return simulate_disaggregated(setup=setup, requests=requests,
                                  max_context=ctx.model.max_context, router=s.router,
                                  ttft_slo_s=ctx.ttft_slo_s, tpot_slo_s=ctx.tpot_slo_s,
                                  reference=ctx.reference, name="disaggregated")


# decode keeps under 26% of an A100's compute busy (Adrenaline arXiv 2503.20552, Sec. 2)
DECODE_COMPUTE_FRACTION = 0.26


def semi_pd_shares(*, prefill_share: float, decode_share: float, contention: bool
                   ) -> tuple[float, float]:
    """Effective (prefill, decode) shares when both workers are busy. With contention and
    a sum above 1 the compute-bound prefill gets what the bandwidth-bound decode leaves:
    min(x, 1 - DECODE_COMPUTE_FRACTION x y); the decode keeps its share (the prefill uses
    little bandwidth). Conservative: a worker alone gets its whole share in reality."""
    if contention and prefill_share + decode_share > 1.0:
        return min(prefill_share, 1.0 - DECODE_COMPUTE_FRACTION * decode_share), decode_share
    return prefill_share, decode_share


def run_semi_pd(ctx: RunContext, requests: RequestSet, schedule: tuple = ()
                ) -> ServingResult:
    """semi-PD with the spec's shares, or with ``schedule``: (from time s, prefill share,
    decode share) triples."""
    s = ctx.spec
    p, sp = s.main_pool, s.semi_pd
    if sp.decode_share <= 0:
        from ador.errors import AdorError
        raise AdorError("semi-PD with a decode share of 0 never decodes", field=
                        "semi_pd.decode_share", value=sp.decode_share)
    x, y = semi_pd_shares(prefill_share=sp.prefill_share, decode_share=sp.decode_share,
                          contention=sp.contention)
    base = pool_step(p, ctx.model)
    eff = [(t, *semi_pd_shares(prefill_share=a, decode_share=b, contention=sp.contention))
           for t, a, b in schedule]
    pview = ShareStep(base, share=x, schedule=tuple((t, a) for t, a, _ in eff))
    dview = ShareStep(base, share=y, kv_load=True, schedule=tuple((t, b) for t, _, b in eff))
    setup = Disaggregated(
        prefill=[Instance(pview, p.scheduler, p.tp, "prefill")] * p.count,
        decode=[Instance(dview, decode_scheduler(p.scheduler), p.tp, "decode")]
        * p.count,
        link=None, kv_bytes_per_token=base.kv_bytes_per_token_all, layers=ctx.model.layers,
        chips=p.tp * p.count, same_instance=True)
    res = simulate_disaggregated(setup=setup, requests=requests,
                                 max_context=ctx.model.max_context, router=s.router,
                                 ttft_slo_s=ctx.ttft_slo_s, tpot_slo_s=ctx.tpot_slo_s,
                                 reference=ctx.reference, name="semi_pd")
    from dataclasses import replace

    from ador.serve.results import frozen
    return replace(res, limits=frozen({**res.limits, "prefill_share": sp.prefill_share,
                                       "decode_share": sp.decode_share}))


SEMI_PD_PASSES = 4  # replays of the online controller until its decisions settle


def _algorithm1(*, x: float, y: float, ttft_q: float, tpot_q: float, ttft_slo: float,
                tpot_slo: float, step: float, max_steps: int, contention: bool
                ) -> tuple[float, float]:
    """One decision of semi-PD's Algorithm 1 with its latency model refitted on the window
    (processing time proportional to 1 / share: TTFT to 1 / prefill compute share, TPOT to
    1 / the decode share's bandwidth): move ``step`` at a time until the model predicts the
    missing SLO met, at most ``max_steps`` steps; nothing when both or neither miss."""
    ttft_miss, tpot_miss = ttft_q > ttft_slo, tpot_q > tpot_slo
    if ttft_miss == tpot_miss:
        return x, y
    x0, y0 = semi_pd_shares(prefill_share=x, decode_share=y, contention=contention)
    for _ in range(max_steps):
        if ttft_miss:
            if x < 1.0 - DECODE_COMPUTE_FRACTION * y - 1e-9 or not contention:
                x = min(1.0, x + step)
            else:
                y = max(step, y - step)
        else:
            y = min(1.0, y + step)
        xe, ye = semi_pd_shares(prefill_share=x, decode_share=y, contention=contention)
        if ttft_miss and ttft_q * x0 / xe <= ttft_slo:
            break
        if tpot_miss and tpot_q * bandwidth_share(y0) / bandwidth_share(ye) <= tpot_slo:
            break
    return x, y


def run_semi_pd_windowed(ctx: RunContext, requests: RequestSet, *, window: int,
                         ttft_slo_s: float, tpot_slo_s: float) -> ServingResult:
    """semi-PD's SLO-aware partitioning online: every ``window_requests`` requests (by
    arrival) Algorithm 1 decides from that window's TTFT and TPOT at the SLO percentile;
    the new shares start ``switch_delay_s`` after the window's last first token. The two
    workers' loops run one after the other, so the run is replayed with the decided
    schedule until the decisions stop changing (at most ``SEMI_PD_PASSES`` runs)."""
    from ador.serve.metrics import per_request
    sp = ctx.spec.semi_pd
    n, w = requests.n, window
    windows = [slice(k, min(k + w, n)) for k in range(0, n, w)]
    shares = [(sp.prefill_share, sp.decode_share)] * len(windows)
    times = [0.0] * len(windows)
    q = 100.0 * sp.attainment
    res = run_semi_pd(ctx, requests)
    for _ in range(SEMI_PD_PASSES):
        per = per_request(res.requests)
        new, new_t = [shares[0]], [0.0]
        for win in windows[:-1]:
            ttft = per[TTFT.column][win]
            tpot = np.nan_to_num(per[TPOT.column][win])
            x, y = _algorithm1(x=new[-1][0], y=new[-1][1],
                               ttft_q=float(np.nanpercentile(ttft, q)),
                               tpot_q=float(np.percentile(tpot, q)), ttft_slo=ttft_slo_s,
                               tpot_slo=tpot_slo_s, step=sp.step_share,
                               max_steps=sp.max_steps, contention=sp.contention)
            new.append((x, y))
            new_t.append(float(np.nanmax(res.requests.first_token_s[win])) + sp.switch_delay_s)
        if new == shares and new_t == times:
            break
        shares, times = new, list(np.maximum.accumulate(new_t))
        res = run_semi_pd(ctx, requests, schedule=tuple(
            (t, a, b) for t, (a, b) in zip(times, shares, strict=True)))
    from dataclasses import replace

    from ador.serve.results import frozen
    return replace(res, limits=frozen({**res.limits, "prefill_share": shares[-1][0],
                                       "decode_share": shares[-1][1],
                                       "share_switches": float(sum(
                                           a != b for a, b in pairwise(shares)))}))


def run_semi_pd_controlled(ctx: RunContext, requests: RequestSet) -> ServingResult:
    """semi-PD's SLO-aware partitioning (Algorithm 1) applied between runs of the workload:
    when the TTFT attainment misses, raise the prefill share by ``step_share`` (or, once
    contention caps what it gets, lower the decode share); else when the TPOT attainment
    misses, raise the decode share; stop when both meet, both miss, or
    after ``max_steps`` moves. Each run starts from the new shares (the switch happens
    between windows, so its delay is not charged)."""
    sp = ctx.spec.semi_pd
    spec = ctx.spec
    if ctx.ttft_slo_s is None or ctx.tpot_slo_s is None:
        return run_semi_pd(ctx, requests)
    if sp.window_requests is not None:
        return run_semi_pd_windowed(ctx, requests, window=sp.window_requests,
                                    ttft_slo_s=ctx.ttft_slo_s, tpot_slo_s=ctx.tpot_slo_s)
    res = run_semi_pd(ctx, requests)
    from ador.serve.metrics import per_request
    for _ in range(sp.max_steps):
        per = per_request(res.requests)
        ttft_ok = np.nanmean(per[TTFT.column] <= ctx.ttft_slo_s) >= sp.attainment
        tpot_ok = np.nanmean(np.nan_to_num(per[TPOT.column]) <= ctx.tpot_slo_s) >= sp.attainment
        if ttft_ok == tpot_ok:
            break
        x, y = spec.semi_pd.prefill_share, spec.semi_pd.decode_share
        if not ttft_ok:  # more compute to the prefill; past what contention leaves it,
            # by taking the share from the decode worker
            if x < 1.0 - DECODE_COMPUTE_FRACTION * y - 1e-9:
                x = min(1.0, x + sp.step_share)
            else:
                y = max(sp.step_share, y - sp.step_share)
        else:
            y = min(1.0, y + sp.step_share)
        if (x, y) == (spec.semi_pd.prefill_share, spec.semi_pd.decode_share):
            break
        spec = spec.model_copy(update={"semi_pd": spec.semi_pd.model_copy(
            update={"prefill_share": x, "decode_share": y})})
        res = run_semi_pd(RunContext(spec=spec, model=ctx.model, ttft_slo_s=ctx.ttft_slo_s,
                                     tpot_slo_s=ctx.tpot_slo_s, reference=ctx.reference),
                          requests)
    return res


def offload_bound(*, prefill_step, decode_step, executor_share: float, prefill_count: int,
                  decode_count: int, prefill_kv_spare_tokens: int) -> float:
    """Largest offload ratio r the prefill side can carry: r/(1-r) within the prefill
    instances' spare KV over the decode instances' KV (memory bound) and within the
    executors' HBM bandwidth over the decode instances' (remote attention no slower than
    local attention; bandwidth bound)."""
    local_kv = decode_step.kv_capacity_for(memory_fraction=0.9, activation_tokens=4096)
    mem = prefill_count * prefill_kv_spare_tokens / max(decode_count * local_kv, 1)
    bw = _bw_ratio(prefill_step, decode_step, share=executor_share, pc=prefill_count,
                   dc=decode_count)
    ob = min(mem, bw)
    return ob / (1.0 + ob)


def _bw_ratio(p, d, *, share, pc, dc) -> float:
    bp = p.work.hbm_bytes_per_s * p.chips if p.work is not None else 1.0
    bd = d.work.hbm_bytes_per_s * d.chips if d.work is not None else 1.0
    return pc * bandwidth_share(share) * bp / (dc * bd)


def _adrenaline_setup(ctx: RunContext, executor_share: float) -> tuple[Disaggregated, float]:
    """Prefill instances whose executor region (their spare KV: the pool less one
    max-context prefill batch) holds offloaded KV, split evenly over the decode instances;
    decode instances admitting requests to offload per ``ador.serve.offload``."""
    s, a = ctx.spec, ctx.spec.adrenaline
    m = ctx.model
    pre, dec = s.prefill_pool, s.decode_pool
    pstep, dstep = pool_step(pre, m), pool_step(dec, m)
    link = _link(ctx)
    pcap = pstep.kv_capacity_for(memory_fraction=pre.scheduler.kv_memory_fraction,
                                 activation_tokens=m.max_context)
    spare = max(pcap - m.max_context, 0)  # what one prefill batch holds at a time
    ratio = a.offload_ratio
    if a.apply_offload_bound:
        ratio = min(ratio, offload_bound(
            prefill_step=pstep, decode_step=dstep, executor_share=executor_share,
            prefill_count=pre.count, decode_count=dec.count, prefill_kv_spare_tokens=spare))
    if ratio <= 0 or executor_share <= 0:
        return _two_pools(ctx, pstep, KvLoadStep(dstep), name="adrenaline"), 0.0
    # q, k, v out and the attention output back, per request and layer (bytes/element 2)
    bytes_el = 2.0
    per_req = bytes_el * (m.heads * m.head_dim + 2 * m.kv_heads * m.head_dim + m.hidden)
    exec_share = bandwidth_share(executor_share) * pre.count / dec.count
    dview = OffloadStep(dstep, ratio=ratio, executor=pstep, executor_bandwidth_share=exec_share,
                        transfer_bytes=per_req, layers=m.layers, link_bytes_per_s=link.bytes_per_s,
                        link_latency_s=link.latency_s)
    # the prefill keeps one max-context batch of its pool; the rest is the executor's
    pview = executor_prefill_view(pstep, executor_share=executor_share,
                                  exponent=a.prefill_slowdown_exponent,
                                  kv_reserved_tokens=spare)
    rule = OffloadRule(bound=ratio, budget_tokens=spare * pre.count // dec.count)
    setup = Disaggregated(
        prefill=[Instance(pview, pre.scheduler, pre.tp, "prefill")] * pre.count,
        decode=[Instance(dview, decode_scheduler(dec.scheduler), dec.tp, "decode",
                         offload=rule)] * dec.count,
        link=link, kv_bytes_per_token=pstep.kv_bytes_per_token_all, layers=m.layers)
    return setup, ratio


def pick_executor_share(ctx: RunContext, requests: RequestSet) -> float:
    """Adrenaline's controller: the largest executor share (smallest prefill share) whose
    prefill stage alone still meets the TTFT SLO for 90% of the requests."""
    if ctx.ttft_slo_s is None:
        return EXECUTOR_SHARES[0]
    s, m = ctx.spec, ctx.model
    best = 0.0
    for share in EXECUTOR_SHARES:
        view = executor_prefill_view(pool_step(s.prefill_pool, m), executor_share=share,
                                     exponent=s.adrenaline.prefill_slowdown_exponent)
        pre = s.prefill_pool
        out = run_stage(instances=[Instance(view, pre.scheduler, pre.tp)]
                        * pre.count, ids=np.arange(requests.n),
                        arrival_s=requests.arrival_s, prompt=requests.prompt_tokens,
                        output=np.ones(requests.n, np.int64), n=requests.n, router=s.router,
                        max_context=m.max_context)
        ttft = out.first - requests.arrival_s
        if np.mean(ttft <= ctx.ttft_slo_s) < 0.9:
            break
        best = share
    return best


def run_adrenaline(ctx: RunContext, requests: RequestSet) -> ServingResult:
    a = ctx.spec.adrenaline
    share = a.executor_share if a.executor_share is not None else pick_executor_share(
        ctx, requests)
    setup, ratio = _adrenaline_setup(ctx, share if a.offload_ratio > 0 else 0.0)
    res = simulate_disaggregated(setup=setup, requests=requests,
                                 max_context=ctx.model.max_context, router=ctx.spec.router,
                                 ttft_slo_s=ctx.ttft_slo_s, tpot_slo_s=ctx.tpot_slo_s,
                                 reference=ctx.reference, name="adrenaline")
    from dataclasses import replace

    from ador.serve.results import frozen
    budget = next((x.offload.budget_tokens for x in setup.decode if x.offload), 0)
    return replace(res, limits=frozen({**res.limits, "offload_ratio": ratio,
                                       "executor_share": share,
                                       "offload_budget_tokens": budget}))


def run_accellm(ctx: RunContext, requests: RequestSet) -> ServingResult:
    """AcceLLM pairs with dynamic roles per chip (``ador.serve.accellm``): every chip is a
    prefill instance (prompts to the pair's chip free sooner) and a decode instance whose
    iterations make way for that chip's prefill windows (``RoleStep``)."""
    s = ctx.spec
    p, ac = s.main_pool, s.accellm
    base = pool_step(p, ctx.model)
    kv_factor = 1.0 if ac.evict_under_pressure else 1.0 / (1.0 + ac.redundancy)
    link = node_link(load_hardware(p.hardware), tp=p.tp, layerwise=True)
    dsched = decode_scheduler(p.scheduler)

    def views(pre) -> list:
        return [Instance(RoleStep(base, windows=prefill_windows(pre, k),
                                  kv_tokens_factor=kv_factor), dsched, p.tp, "decode")
                for k in range(p.count)]

    setup = Disaggregated(
        prefill=[Instance(base, p.scheduler, p.tp, "prefill")] * p.count,
        decode=[Instance(RoleStep(base, kv_tokens_factor=kv_factor), dsched, p.tp,
                         "decode")] * p.count,
        link=link, kv_bytes_per_token=base.kv_bytes_per_token_all, layers=ctx.model.layers,
        chips=p.tp * p.count, plan=accellm_plan(ac.redundancy),
        prefill_route=pair_prefill_router(s.router), decode_views=views)
    res = simulate_disaggregated(setup=setup, requests=requests,
                                 max_context=ctx.model.max_context, router=s.router,
                                 ttft_slo_s=ctx.ttft_slo_s, tpot_slo_s=ctx.tpot_slo_s,
                                 reference=ctx.reference, name="accellm")
    from dataclasses import replace

    from ador.serve.results import frozen
    ts = res.timeseries
    shares = prefill_time_shares({"instance": ts.instance, "busy_s": ts.busy_s,
                                  "prefill_tokens": ts.prefill_tokens}, chips=p.count,
                                 span_s=res.summary.get("makespan_s", 0.0))
    return replace(res, limits=frozen({**res.limits,
                                       "prefill_time_share": float(shares.mean()),
                                       "prefill_time_share_max": float(shares.max()),
                                       "redundancy": ac.redundancy}))


POLICIES: dict[str, Callable[[RunContext, RequestSet], ServingResult]] = {
    "colocated": run_colocated, "disaggregated": run_disaggregated,
    "semi_pd": lambda ctx, r: (run_semi_pd_controlled if ctx.spec.semi_pd.controller
                               else run_semi_pd)(ctx, r),
    "adrenaline": run_adrenaline, "accellm": run_accellm}


def simulate_cluster(*, cluster: ClusterSpec, model: ModelSpec, requests: RequestSet,
                     ttft_slo_s: float | None = None, tpot_slo_s: float | None = None,
                     reference: bool = False) -> ServingResult:
    """Run ``requests`` through the cluster and policy ``cluster`` describes."""
    ctx = RunContext(spec=cluster, model=model, ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s,
                     reference=reference)
    return POLICIES[cluster.policy](ctx, requests)
