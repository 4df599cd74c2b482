"""The event loop of one serving instance.

Events are request arrivals (open loop: the trace's times; closed loop: a client's previous
request completing) and iteration ends; the loop jumps to the next arrival when idle. Each
iteration the scheduler plans (admissions, prefill chunks, decodes, preemptions), the step
model gives its time, and the engine state applies it. The state is either the fast one
with aggregate decode state (``ador.serve.aggregate.FastState``) or the object-per-request
reference (``ador.serve.reference.ReferenceState``); both give identical results.
A step model (or view) with an ``at(t)`` method is told the time before each iteration
(semi-PD's share schedule, AcceLLM's prefill windows); a bulk run of decode-only
iterations takes its times from the view's ``decode_times`` after ``at(start)``: a view
whose speed changes within a run (``RoleStep``) answers them as if stepped one at a time.
KV swapping (swap preemption) is a transfer over the host link whose time is added to the
iteration that starts it (the GPU waits for the copy, as vLLM's swap does).
``hold_until_s`` keeps a completed request's KV blocks allocated until that time (a PD
prefill instance holding a prompt's KV until a decode instance takes it); an instance whose
waiting requests do not fit meanwhile idles until the next release or arrival.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ador.errors import AdorError
from ador.serve.aggregate import FastState
from ador.serve.kv import KvPool
from ador.serve.requests import RequestSet
from ador.serve.schedulers.base import Scheduler
from ador.serve.stepviews import Step


@dataclass(frozen=True)
class RawRun:
    """What an engine produced, before metrics (arrays indexed by request)."""

    arrival_s: np.ndarray
    start_s: np.ndarray
    first_token_s: np.ndarray
    finish_s: np.ndarray
    preemptions: np.ndarray
    token_times_s: np.ndarray
    token_offsets: np.ndarray
    rejected: np.ndarray  # bool
    reject_reasons: dict
    series: dict  # iteration arrays
    stopped: bool = False  # ended early (stop_ttft_misses)
    work: dict | None = None  # per-iteration work counts (Recorder.work_arrays)
    # tokens each request delivered, when the scheduler may truncate (None: all of them)
    output_tokens: np.ndarray | None = None


class Recorder:
    """Per-iteration time series (plain lists while running)."""

    def __init__(self) -> None:
        self.t: list = []
        self.batch: list = []
        self.prefill: list = []
        self.decode: list = []
        self.kv: list = []
        self.busy: list = []
        self.work: list = []  # (sampled rows, decode context sum, scores, prior tokens)

    def add(self, *, t, batch, ptok, dtok, kv, busy, work) -> None:
        self.t.append(t)
        self.batch.append(batch)
        self.prefill.append(ptok)
        self.decode.append(dtok)
        self.kv.append(kv)
        self.busy.append(busy)
        self.work.append(work)

    def arrays(self, capacity_tokens: int) -> dict:
        n = len(self.t)
        return {"t_s": np.array(self.t, dtype=np.float64),
                "batch_size": np.array(self.batch, dtype=np.int64),
                "prefill_tokens": np.array(self.prefill, dtype=np.int64),
                "decode_tokens": np.array(self.decode, dtype=np.int64),
                "kv_used_tokens": np.array(self.kv, dtype=np.int64),
                "kv_capacity_tokens": np.full(n, capacity_tokens, dtype=np.int64),
                "busy_s": np.array(self.busy, dtype=np.float64),
                "instance": np.zeros(n, dtype=np.int64)}

    def work_arrays(self) -> dict:
        w = np.array(self.work, dtype=np.float64).reshape(-1, 4)
        return {"sampled": w[:, 0], "decode_ctx_sum": w[:, 1], "scores": w[:, 2],
                "prior_tokens": w[:, 3]}


def run(*, requests: RequestSet, scheduler: Scheduler, step: Step, kv: KvPool,
        state_factory=FastState, progress: Callable[[float], None] | None = None,
        swap_s_per_block: float = 0.0, stop_ttft_misses: tuple[float, int] | None = None,
        hold_until_s: np.ndarray | None = None) -> RawRun:
    """Simulate ``requests`` through ``scheduler`` on one instance with ``state_factory``.

    ``stop_ttft_misses=(slo_s, k)`` stops the run as soon as k requests have missed the
    TTFT SLO (a goodput search only needs to know that attainment is out of reach); the
    result then has ``stopped`` set and NaN for what did not happen."""
    n = requests.n
    st = state_factory(requests, kv)
    closed = requests.concurrency
    arrival = requests.arrival_s.tolist() if closed is None else [0.0] * n
    released = n if closed is None else min(closed, n)
    rejected, reasons = _rejections(scheduler, st.prompt, st.output)
    start = [np.nan] * n
    finish = [np.nan] * n
    first = [np.nan] * n
    rec = Recorder()
    fast_forward = getattr(st, "fast_forward", None)
    t = 0.0
    ai = 0
    finished = 0
    step_tick = max(1, n // 100)
    misses = 0
    ttft_slo, miss_cap = stop_ttft_misses if stop_ttft_misses else (np.inf, n + 1)
    stopped = False
    clock = getattr(step, "at", None)  # a step view whose speed changes over time
    holds: list = []  # heap of (release time, blocks) of completed requests' kept KV
    while True:
        while holds and holds[0][0] <= t:
            st.held -= heapq.heappop(holds)[1]
        while ai < released and arrival[ai] <= t:
            if rejected[ai]:
                finish[ai] = arrival[ai]
                finished += 1
                if closed is not None and released < n:
                    arrival[released] = arrival[ai]
                    released += 1
            else:
                st.waiting.append(ai)
            ai += 1
        if clock is not None:
            clock(t)
        plan = scheduler.plan(st)
        if (plan.decode and not plan.chunks and not plan.swap_blocks and not plan.preempted
                and not st.prefilling and not st.swapped and fast_forward is not None
                and (scheduler.stable_when_blocked or not st.waiting)):
            t_next = t
            t = fast_forward(t=t, step=step, rec=rec, until_s=min(
                arrival[ai] if ai < released else np.inf, holds[0][0] if holds else np.inf))
            if t != t_next:
                continue
        if plan.empty:
            if ai < released or holds:
                t = max(t, min(arrival[ai] if ai < released else np.inf,
                               holds[0][0] if holds else np.inf))
                continue
            if st.waiting or st.prefilling or st.n_decode or st.swapped:
                raise AdorError("the scheduler cannot admit any waiting request on an idle "
                                "instance", field="scheduler", value=scheduler.name)
            break
        for i, _ in plan.chunks:
            if start[i] != start[i]:
                start[i] = t
        dt, batch, ptok, dtok, work = st.iteration(plan=plan, step=step,
                                                   swap_s_per_block=swap_s_per_block)
        kv_now = st.kv_used_tokens
        t += dt
        done = st.finish_iteration(plan=plan, t=t)
        rec.add(t=t, batch=batch, ptok=ptok, dtok=dtok, kv=kv_now, busy=dt, work=work)
        for i, _ in plan.chunks:
            if first[i] != first[i] and st.gen[i] > 0:
                first[i] = t
                if t - arrival[i] > ttft_slo:
                    misses += 1
        if misses >= miss_cap:
            stopped = True
            break
        if done:
            scheduler.finished(done)
        for i in done:
            finish[i] = t
            if hold_until_s is not None and hold_until_s[i] > t:
                b = kv.blocks(st.prompt[i] + st.output[i] - 1)
                st.held += b
                heapq.heappush(holds, (float(hold_until_s[i]), b))
            if closed is not None and released < n:
                arrival[released] = t
                released += 1
        if done:
            finished += len(done)
            if progress is not None and finished % step_tick < len(done):
                progress(finished / n)
    if progress is not None:
        progress(1.0)
    delivered = np.asarray(st.real_output, dtype=np.int64)
    out_real = np.where(np.array(rejected), 0, delivered)
    offsets = np.concatenate([[0], np.cumsum(out_real)]).astype(np.int64)
    return RawRun(
        arrival_s=np.array(arrival, dtype=np.float64), start_s=np.array(start),
        first_token_s=np.array(first), finish_s=np.array(finish),
        preemptions=np.array(st.preempts, dtype=np.int64),
        token_times_s=np.full(int(offsets[-1]), np.nan) if stopped else st.token_times(offsets),
        token_offsets=offsets, stopped=stopped,
        rejected=np.array(rejected), reject_reasons=reasons,
        series=rec.arrays(kv.capacity_tokens), work=rec.work_arrays(),
        output_tokens=delivered if scheduler.truncates else None)


def _rejections(scheduler: Scheduler, prompt: list, output: list) -> tuple[list, dict]:
    """Which requests can never run under ``scheduler`` (flags) and why (counts)."""
    reasons: dict = {}
    rejected = [False] * len(prompt)
    for i, (p, o) in enumerate(zip(prompt, output, strict=True)):
        why = scheduler.reject_reason(p, o)
        if why is not None:
            rejected[i] = True
            reasons[why] = reasons.get(why, 0) + 1
    return rejected, reasons
