"""Clusters: pools of serving instances behind a router, colocated or prefill/decode
disaggregated, each instance run by the one event loop (``ador.serve.engine.run``).

A request either runs whole on one instance of a colocated pool, or in two stages: its
prefill (and first token) on a prefill instance, then a KV transfer, then its decode on a
decode instance. A decode instance admits a request (allocates its KV blocks) when its
scheduler finds the blocks free; the transferred prompt costs it no compute
(``KvLoadStep``).

Two-stage back-pressure: the prefill instance keeps a finished prompt's KV in its own KV
pool until the decode instance admits the request (as DistServe's decode instance pulls the
KV when it has room), and admits no new prefill whose blocks its pool cannot hold, so a
full decode pool slows the prefills (TTFT) instead of piling KV up nowhere. The two stages
run one after the other: the prefill stage is replayed, each prompt's KV held until the
latest decode admission any earlier pass gave it (release times only grow), until no
decode instance admits a request after its prefill instance released it (at most
``BACKPRESSURE_PASSES`` runs). ``limits`` give the passes, whether they settled, the mean
time a KV stayed past its admission (the cost of the monotone replay: the prefill holds
no less than it must) and, when unsettled, the largest early release. The link is charged
when the prefill ends, before the decode queue (the transfer's time is counted ahead of
the admission it follows in reality).

KV transfers are flows on links: each prefill instance has one egress and each decode
instance one ingress link of ``Link.bytes_per_s``; a flow takes both for bytes / bandwidth
plus the link latency, first come first served. With ``layerwise`` the flow starts when the
prefill starts and ends no earlier than one layer's share after the prefill ends
(Splitwise's overlap); else it starts when the prefill ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ador.errors import AdorError
from ador.serve.aggregate import FastState
from ador.serve.api import assemble, make_scheduler
from ador.serve.engine import RawRun, run
from ador.serve.offload import OffloadAdmission, OffloadLedger, OffloadRule
from ador.serve.reference import ReferenceState
from ador.serve.requests import RequestSet
from ador.serve.results import ServingResult
from ador.serve.routers import ROUTERS, RouteTarget
from ador.serve.stepviews import Step
from ador.spec.hardware import HardwareSpec
from ador.spec.scheduler import SchedulerConfig

# one 200 Gb/s HDR InfiniBand NIC per GPU (DGX A100 datasheet: 8 x 200 Gb/s compute NICs)
NETWORK_BYTES_PER_S = 25e9
# one-way latency of an RDMA write across one InfiniBand switch, about 2-5 us (NVIDIA
# ConnectX-6 product brief: sub-microsecond port latency; switch hop ~100-200 ns)
NETWORK_LATENCY_S = 5e-6


@dataclass(frozen=True)
class Link:
    """A KV path between a prefill and a decode instance."""

    bytes_per_s: float
    latency_s: float
    layerwise: bool = False


def node_link(hardware: HardwareSpec, *, tp: int, layerwise: bool = False) -> Link:
    """Both instances in one node: each of the ``tp`` chips sends its heads' KV over its own
    P2P links (all links of the chip, per direction)."""
    p2p = hardware.chip.p2p
    if p2p is None:
        raise AdorError("a node-local KV link needs chip.p2p links", field="chip.p2p",
                        value=hardware.name)
    return Link(bytes_per_s=tp * p2p.links * p2p.bandwidth_per_link_bytes_per_s,
                latency_s=p2p.latency_s, layerwise=layerwise)


def network_link(*, tp: int, bytes_per_s_per_chip: float = NETWORK_BYTES_PER_S,
                 latency_s: float = NETWORK_LATENCY_S, layerwise: bool = False) -> Link:
    """Instances on different nodes: one NIC per chip."""
    return Link(bytes_per_s=tp * bytes_per_s_per_chip, latency_s=latency_s,
                layerwise=layerwise)


@dataclass(frozen=True)
class Instance:
    """One serving instance: a step model (or a view of one), its scheduler, its chips."""

    step: Step
    scheduler: SchedulerConfig
    chips: int
    pool: str = "colocated"
    # a decode instance that may offload requests' KV and attention (Adrenaline); its step
    # is then an ``OffloadStep``
    offload: OffloadRule | None = None


@dataclass
class StageOut:
    """Per-request results of one stage (global request indices)."""

    n: int
    start: np.ndarray = field(init=False)
    first: np.ndarray = field(init=False)
    finish: np.ndarray = field(init=False)
    preempt: np.ndarray = field(init=False)
    rejected: np.ndarray = field(init=False)
    where: np.ndarray = field(init=False)
    offloaded: np.ndarray = field(init=False)  # decode placement (``ador.serve.offload``)
    offload_share: np.ndarray = field(init=False)
    offload_kv: np.ndarray = field(init=False)
    tokens: list = field(init=False)
    series: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.start = np.full(self.n, np.nan)
        self.first = np.full(self.n, np.nan)
        self.finish = np.full(self.n, np.nan)
        self.preempt = np.zeros(self.n, dtype=np.int64)
        self.rejected = np.zeros(self.n, dtype=bool)
        self.where = np.full(self.n, -1, dtype=np.int64)
        self.offloaded = np.zeros(self.n, dtype=bool)
        self.offload_share = np.full(self.n, np.nan)
        self.offload_kv = np.full(self.n, np.nan)
        self.tokens = [np.zeros(0)] * self.n


def route_target(inst: Instance, max_context: int) -> RouteTarget:
    """Speeds and KV capacity a router assumes for an instance (from its step model): a
    2048-token prefill and a decode step of 64 requests at 1024 context."""
    step = inst.step
    ptime = step.time(tokens=2048, sampled=1, chunks=[(2048, 0)])
    dtime = step.time(tokens=64, sampled=64, decode_n=64, decode_ctx_sum=64 * 1024)
    cap = step.kv_capacity_for(memory_fraction=inst.scheduler.kv_memory_fraction,
                               activation_tokens=max(2048, max_context))
    return RouteTarget(prefill_tokens_per_s=2048 / max(ptime, 1e-12),
                       decode_tokens_per_s=64 / max(dtime, 1e-12),
                       kv_capacity_tokens=max(cap, 1))


def run_stage(*, instances: list[Instance], ids: np.ndarray, arrival_s: np.ndarray,
              prompt: np.ndarray, output: np.ndarray, n: int, router: str, max_context: int,
              reference: bool = False, offset: int = 0,
              hold_until_s: np.ndarray | None = None,
              route: Callable[..., np.ndarray] | None = None) -> StageOut:
    """Route requests ``ids`` (arriving at ``arrival_s``) to ``instances`` (by ``route``,
    else the named ``router``) and run each instance's share through the event loop;
    results scattered to global indices. ``hold_until_s`` (by global index): keep a
    completed request's KV until then. A step view with ``decode_busy`` (``RoleStep``)
    records as busy only its iterations' time outside the chip's prefill windows."""
    out = StageOut(n)
    if ids.size == 0:
        return out
    order = np.argsort(arrival_s, kind="stable")
    ids, arrival_s, prompt, output = ids[order], arrival_s[order], prompt[order], output[order]
    targets = [route_target(x, max_context) for x in instances]
    where = (route or ROUTERS[router])(arrival_s=arrival_s, prompt=prompt, output=output,
                                       targets=targets)
    for k, inst in enumerate(instances):
        mine = np.flatnonzero(where == k)
        if mine.size == 0:
            continue
        sub = RequestSet(arrival_s=arrival_s[mine], prompt_tokens=prompt[mine],
                         output_tokens=output[mine])
        sched, kv, _ = make_scheduler(config=inst.scheduler, step=inst.step, requests=sub,
                                      max_context=max_context)
        swap_s = (kv.block_tokens * inst.step.kv_bytes_per_token
                  / inst.scheduler.swap_bandwidth_bytes_per_s)
        g = ids[mine]
        step, ledger = inst.step, None
        if inst.offload is not None:
            ledger = OffloadLedger(inst.offload, n=mine.size, block_tokens=kv.block_tokens)
            sched = OffloadAdmission(sched, ledger)
            step = inst.step.bind(ledger)  # type: ignore[union-attr]
        raw = run(requests=sub, scheduler=sched, step=step, kv=kv,
                  state_factory=ReferenceState if reference else FastState,
                  swap_s_per_block=swap_s,
                  hold_until_s=None if hold_until_s is None else hold_until_s[g])
        if ledger is not None:
            out.offloaded[g] = ledger.offloaded
            out.offload_share[g] = ledger.share_at_admission
            out.offload_kv[g] = ledger.kv_at_admission
        out.where[g] = k + offset
        out.start[g] = raw.start_s
        out.first[g] = raw.first_token_s
        out.finish[g] = raw.finish_s
        out.preempt[g] = raw.preemptions
        out.rejected[g] = raw.rejected
        for j, gi in enumerate(g.tolist()):
            out.tokens[gi] = raw.token_times_s[raw.token_offsets[j]:raw.token_offsets[j + 1]]
        series = dict(raw.series)
        own = getattr(inst.step, "decode_busy", None)
        if own is not None:
            series["busy_s"] = own(series["t_s"], series["busy_s"])
        series["instance"] = np.full(series["t_s"].shape[0], k + offset, np.int64)
        out.series.append(series)
        for why, c in raw.reject_reasons.items():
            out.reasons[why] = out.reasons.get(why, 0) + c
    return out


def transfer_flows(*, ready_s: np.ndarray, start_s: np.ndarray, src: np.ndarray,
                   dst: np.ndarray, nbytes: np.ndarray, link: Link, layers: int
                   ) -> np.ndarray:
    """End times of KV flows (FCFS by ready time on each source egress and destination
    ingress link)."""
    end = np.full(ready_s.shape[0], np.nan)
    busy_src: dict = {}
    busy_dst: dict = {}
    for i in np.argsort(ready_s, kind="stable").tolist():
        if not np.isfinite(ready_s[i]):
            continue
        dur = nbytes[i] / link.bytes_per_s
        earliest = start_s[i] if link.layerwise else ready_s[i]
        t0 = max(earliest, busy_src.get(src[i], 0.0), busy_dst.get(dst[i], 0.0))
        t1 = t0 + dur
        if link.layerwise:  # the last layer's KV exists only when the prefill ends
            t1 = max(t1, ready_s[i] + dur / layers)
        busy_src[src[i]] = t1
        busy_dst[dst[i]] = t1
        end[i] = t1 + link.latency_s
    return end


@dataclass(frozen=True)
class Disaggregated:
    """Two pools: prefill instances, decode instances (their steps: ``KvLoadStep`` views or
    other views that cost a loaded prompt nothing), a KV link; ``chips`` overrides the
    counted chips (semi-PD's workers share chips)."""

    prefill: list
    decode: list
    link: Link | None  # None: no transfer (the KV stays where it is)
    kv_bytes_per_token: float  # whole model
    layers: int
    chips: int | None = None
    same_instance: bool = False  # decode on the prefill's instance index (semi-PD)
    # custom placement: plan(pair=, ready_s=, prompt=, output=, targets=) -> (dst, copied); a
    # copied request's KV flows to dst when dst != src (AcceLLM's duplication: the flow is
    # made for every copied request, counted in kv_transferred_bytes)
    plan: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    # custom prefill routing, as a router (AcceLLM: the pair's chip free sooner)
    prefill_route: Callable[..., np.ndarray] | None = None
    # decode instances built from each prefill stage run (AcceLLM: each chip's decode view
    # knows that chip's prefill windows, ``prefill_windows``); None: ``decode``
    decode_views: Callable[[StageOut], list] | None = None


def prefill_windows(pre: StageOut, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of prefill instance k's busy iterations in a prefill stage run."""
    own = [x for x in pre.series if x["instance"].size and x["instance"][0] == k]
    if not own:
        return np.zeros(0), np.zeros(0)
    t, busy = own[0]["t_s"], own[0]["busy_s"]
    on = busy > 0
    return t[on] - busy[on], t[on]


def simulate_disaggregated(*, setup: Disaggregated, requests: RequestSet, max_context: int,
                           router: str = "round_robin", decode_router: str | None = None,
                           ttft_slo_s: float | None = None, tpot_slo_s: float | None = None,
                           reference: bool = False, name: str = "disaggregated"
                           ) -> ServingResult:
    """Prefill stage, KV flows, decode stage; one result over all requests. The prefill
    instances hold each prompt's KV until its decode instance admits it (two-stage
    back-pressure, see the module), found by replaying the prefill stage with the decode
    admissions of the previous pass until they settle."""
    _check_router(router)
    _check_router(decode_router or router)
    if requests.concurrency is not None:
        raise AdorError("a disaggregated cluster needs an open-loop request set",
                        field="concurrency", value=requests.concurrency)
    n = requests.n
    kw: dict[str, Any] = dict(setup=setup, requests=requests, max_context=max_context,
                              router=router, decode_router=decode_router, reference=reference)
    pre = _prefill_stage(hold_until_s=None, **kw)
    dec = _decode_stage(pre=pre, **kw)
    passes, settled = 1, setup.link is None or setup.same_instance
    release = np.full(n, -np.inf)  # the holds the last prefill pass ran with
    if not settled and _holds_fit(setup=setup, requests=requests, pre=pre,
                                  admitted=_admission_times(pre, dec.stage)):
        # holding every prompt's KV until its admission never fills a prefill pool, so the
        # prefill stage would run exactly as it did: no replay needed
        release, settled = _admission_times(pre, dec.stage), True
    while not settled:
        admitted = _admission_times(pre, dec.stage)
        if np.all(admitted <= release):
            settled = True  # every prompt's KV stayed on its prefill instance until taken
            break
        if passes == BACKPRESSURE_PASSES:
            break
        release = np.fmax(release, admitted)
        pre = _prefill_stage(hold_until_s=release, **kw)
        dec = _decode_stage(pre=pre, **kw)
        passes += 1
    admitted = _admission_times(pre, dec.stage)
    took = np.isfinite(admitted)  # decoded: its KV was taken by a decode instance
    late = took & (admitted > release)
    gap = np.where(took, admitted, 0.0) - np.where(took, release, 0.0)
    go, P = dec.go, len(setup.prefill)
    raw = _merge(requests=requests, pre=pre, dec=dec.stage, go=go)
    nbytes = requests.prompt_tokens * setup.kv_bytes_per_token
    transferred = float(nbytes[go][dec.copied].sum()) if setup.link is not None else 0.0
    chips = setup.chips or sum(x.chips for x in setup.prefill + setup.decode)
    limits = {"instances": P + len(setup.decode), "prefill_instances": P,
              "decode_instances": len(setup.decode), "kv_transferred_bytes": transferred,
              "kv_produced_bytes": float(nbytes[go].sum()),
              "backpressure_passes": passes, "backpressure_settled": float(settled),
              # KV held past its decode admission (release times only grow between passes)
              # and, unsettled, admitted after its prefill instance let it go
              "backpressure_overhold_mean_s": _mean_gap(-gap, took & ~late),
              "backpressure_early_release_max_s": float(np.max(gap, where=late,
                                                               initial=0.0))}
    res = assemble(raw=raw, requests=requests, chips=chips, scheduler=name, limits=limits,
                   ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s)
    if any(x.offload is not None for x in setup.decode):
        from dataclasses import replace

        from ador.serve.results import frozen
        st = dec.stage
        res = replace(res, extras=frozen({
            "offloaded": st.offloaded.copy(), "offload_share_at_admission":
            st.offload_share.copy(), "offload_kv_tokens_at_admission": st.offload_kv.copy(),
            "decode_instance": np.where(st.where >= 0, st.where - P, -1),
            "decode_admitted_s": st.start.copy()}))
    return _with_pool_summary(res, pre=pre, dec=dec.stage, P=P)


# replays of the prefill stage with the decode admissions of the previous passes
BACKPRESSURE_PASSES = 8


def _admission_times(pre: StageOut, dec: StageOut) -> np.ndarray:
    """When each decode instance admitted each request (its decode start; -inf for one
    that does not decode: its prefill instance frees its KV when the prefill ends)."""
    return np.where(np.isfinite(dec.start), np.fmax(dec.start, pre.first), -np.inf)


def _holds_fit(*, setup: Disaggregated, requests: RequestSet, pre: StageOut,
               admitted: np.ndarray) -> bool:
    """Whether each prefill instance's peak own KV plus the peak of the prompts' KV held from
    prefill end to decode admission stays within its pool less the admission watermark (a
    sufficient condition for the holds to change no admission)."""
    held = np.isfinite(admitted)
    for k, inst in enumerate(setup.prefill):
        own = [x for x in pre.series if x["instance"].size and x["instance"][0] == k]
        if not own:
            continue
        cap = int(own[0]["kv_capacity_tokens"][0])
        b = inst.scheduler.block_tokens
        mine = np.flatnonzero(held & (pre.where == k))
        tokens = -(-requests.prompt_tokens[mine] // b) * b
        t = np.concatenate([pre.first[mine], admitted[mine]])
        delta = np.concatenate([tokens, -tokens])
        order = np.lexsort((-delta, t))  # at equal times, count the new hold first
        peak_held = float(np.max(np.cumsum(delta[order]), initial=0))
        peak_own = float(own[0]["kv_used_tokens"].max(initial=0))
        margin = inst.scheduler.watermark_fraction * cap + b
        if peak_own + peak_held > cap - margin:
            return False
    return True


def _mean_gap(gap: np.ndarray, mask: np.ndarray) -> float:
    mask = mask & np.isfinite(gap)
    return float(gap[mask].mean()) if mask.any() else 0.0


def _prefill_stage(*, setup: Disaggregated, requests: RequestSet, max_context: int,
                   router: str, decode_router: str | None, reference: bool,
                   hold_until_s: np.ndarray | None) -> StageOut:
    n = requests.n
    return run_stage(instances=setup.prefill, ids=np.arange(n), arrival_s=requests.arrival_s,
                     prompt=requests.prompt_tokens, output=np.ones(n, np.int64), n=n,
                     router=router, max_context=max_context, reference=reference,
                     hold_until_s=hold_until_s, route=setup.prefill_route)


@dataclass
class DecodeOut:
    stage: StageOut
    go: np.ndarray  # requests that decode (global indices)
    copied: np.ndarray  # of go: whose KV flowed


def _decode_stage(*, setup: Disaggregated, requests: RequestSet, max_context: int,
                  router: str, decode_router: str | None, reference: bool, pre: StageOut
                  ) -> DecodeOut:
    """KV flows from the prefill instances and the decode instances' runs."""
    n = requests.n
    go = np.flatnonzero((requests.output_tokens > 1) & ~pre.rejected & np.isfinite(pre.first))
    nbytes = requests.prompt_tokens * setup.kv_bytes_per_token
    # decode routing happens when the KV is ready; the flow's destination follows it
    ready = pre.first[go]
    decode = setup.decode if setup.decode_views is None else setup.decode_views(pre)
    targets = [route_target(x, max_context) for x in decode]
    order = np.argsort(ready, kind="stable")
    dst = np.empty(go.size, np.int64)
    copied = np.ones(go.size, dtype=bool)
    if setup.plan is not None:
        dst, copied = setup.plan(pair=pre.where[go], ready_s=ready,
                                 prompt=requests.prompt_tokens[go],
                                 output=requests.output_tokens[go], targets=targets)
    elif setup.same_instance:
        dst[:] = pre.where[go]
    else:
        dst[order] = ROUTERS[decode_router or router](
            arrival_s=ready[order], prompt=requests.prompt_tokens[go][order],
            output=requests.output_tokens[go][order], targets=targets)
    if setup.link is None:
        arrive = ready
    else:
        flows = transfer_flows(ready_s=np.where(copied, ready, np.nan),
                               start_s=pre.start[go], src=pre.where[go], dst=dst,
                               nbytes=nbytes[go], link=setup.link, layers=setup.layers)
        moved = copied & (dst != pre.where[go]) if setup.plan is not None else copied
        arrive = np.where(moved, flows, ready)
    dec = StageOut(n)
    P = len(setup.prefill)
    for k, inst in enumerate(decode):
        mine = dst == k
        part = run_stage(instances=[inst], ids=go[mine], arrival_s=arrive[mine],
                         prompt=requests.prompt_tokens[go][mine],
                         output=requests.output_tokens[go][mine], n=n, router="round_robin",
                         max_context=max_context, reference=reference, offset=P + k)
        g = go[mine]
        for name_ in ("start", "first", "finish", "preempt", "rejected", "where",
                      "offloaded", "offload_share", "offload_kv"):
            getattr(dec, name_)[g] = getattr(part, name_)[g]
        for gi in g.tolist():
            dec.tokens[gi] = part.tokens[gi]
        dec.series.extend(part.series)
        for why, c in part.reasons.items():
            dec.reasons[why] = dec.reasons.get(why, 0) + c
    return DecodeOut(stage=dec, go=go, copied=copied)


def _merge(*, requests: RequestSet, pre: StageOut, dec: StageOut, go: np.ndarray) -> RawRun:
    n = requests.n
    finish = pre.finish.copy()
    finish[go] = dec.finish[go]
    rejected = pre.rejected | dec.rejected
    decoding = np.zeros(n, dtype=bool)
    decoding[go] = True
    pieces = []
    for i in range(n):
        if rejected[i]:
            pieces.append(np.zeros(0))
        elif decoding[i]:
            pieces.append(np.concatenate([pre.tokens[i][:1], dec.tokens[i][1:]]))
        else:
            pieces.append(pre.tokens[i][:1])
    lengths = np.array([p.shape[0] for p in pieces], dtype=np.int64)
    reasons = dict(pre.reasons)
    for why, c in dec.reasons.items():
        reasons[why] = reasons.get(why, 0) + c
    series = _concat_series(pre.series + dec.series)
    return RawRun(arrival_s=requests.arrival_s.copy(), start_s=pre.start, first_token_s=pre.first,
                  finish_s=np.where(rejected, requests.arrival_s, finish),
                  preemptions=pre.preempt + dec.preempt,
                  token_times_s=np.concatenate(pieces) if pieces else np.zeros(0),
                  token_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                  rejected=rejected, reject_reasons=reasons, series=series, work=None)


def _concat_series(series: list) -> dict:
    keys = ("t_s", "batch_size", "prefill_tokens", "decode_tokens", "kv_used_tokens",
            "kv_capacity_tokens", "busy_s", "instance")
    if not series:
        return {k: np.zeros(0) for k in keys}
    cat = {k: np.concatenate([s[k] for s in series]) for k in keys}
    order = np.argsort(cat["t_s"], kind="stable")
    return {k: v[order] for k, v in cat.items()}


def _with_pool_summary(res: ServingResult, *, pre: StageOut, dec: StageOut, P: int
                       ) -> ServingResult:
    """Busy fraction and peak KV occupancy of each pool over the makespan."""
    from dataclasses import replace

    from ador.serve.results import frozen
    s = dict(res.summary)
    span = s.get("makespan_s", 0.0)
    for label, stage in (("prefill", pre), ("decode", dec)):
        if not stage.series or span <= 0:
            continue
        busy = sum(float(x["busy_s"].sum()) for x in stage.series)
        s[f"{label}_busy_fraction"] = busy / (span * len(stage.series))
        s[f"{label}_kv_peak_fraction"] = max(
            float((x["kv_used_tokens"] / np.maximum(x["kv_capacity_tokens"], 1)).max())
            for x in stage.series)
    s.pop("busy_fraction", None)
    return replace(res, summary=frozen(s))


def simulate_colocated(*, instances: list[Instance], requests: RequestSet, max_context: int,
                       router: str = "round_robin", ttft_slo_s: float | None = None,
                       tpot_slo_s: float | None = None, reference: bool = False
                       ) -> ServingResult:
    """One pool of (possibly different) instances behind ``router``."""
    _check_router(router)
    if requests.concurrency is not None:
        raise AdorError("a cluster needs an open-loop request set (a closed loop's clients "
                        "are not routed)", field="concurrency", value=requests.concurrency)
    n = requests.n
    out = run_stage(instances=instances, ids=np.arange(n), arrival_s=requests.arrival_s,
                    prompt=requests.prompt_tokens, output=requests.output_tokens, n=n,
                    router=router, max_context=max_context, reference=reference)
    pieces = [np.zeros(0) if out.rejected[i] else out.tokens[i] for i in range(n)]
    lengths = np.array([p.shape[0] for p in pieces], dtype=np.int64)
    raw = RawRun(arrival_s=requests.arrival_s.copy(), start_s=out.start,
                 first_token_s=out.first, finish_s=out.finish, preemptions=out.preempt,
                 token_times_s=np.concatenate(pieces),
                 token_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                 rejected=out.rejected, reject_reasons=out.reasons,
                 series=_concat_series(out.series), work=None)
    res = assemble(raw=raw, requests=requests, chips=sum(x.chips for x in instances),
                   scheduler="colocated", limits={"instances": len(instances)},
                   ttft_slo_s=ttft_slo_s, tpot_slo_s=tpot_slo_s, instances=len(instances))
    return res


def _check_router(router: str) -> None:
    if router not in ROUTERS:
        raise AdorError(f"unknown router (one of {', '.join(ROUTERS)})", field="router",
                        value=router)
