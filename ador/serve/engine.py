"""The fast event loop: iterations of one serving instance, aggregate decode state.

Events are request arrivals (open loop: the trace's times; closed loop: a client's previous
request completing) and iteration ends; the loop jumps to the next arrival when idle.
Per iteration the work does not grow with the number of running requests: decoding requests
are kept as a count and a sum of contexts, block growth as 16 (block_tokens) buckets by
context phase, completions as a map from decode-step index to the requests that end there.
Each request's token times are recovered afterwards from the decode steps' end times and the
step-index ranges it decoded in.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ador.errors import AdorError
from ador.serve.kv import KvPool
from ador.serve.requests import RequestSet
from ador.serve.schedulers.base import Plan, Scheduler
from ador.serve.steptime import StepModel

MIN_BULK = 8  # fewer decode-only steps than this run one by one (numpy set-up costs more)


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

    def arrays(self, capacity_tokens: int) -> dict:
        n = len(self.t)
        return {"t_s": np.array(self.t, dtype=np.float64),
                "batch_size": np.array(self.batch, dtype=np.int64),
                "prefill_tokens": np.array(self.prefill, dtype=np.int64),
                "decode_tokens": np.array(self.decode, dtype=np.int64),
                "kv_used_tokens": np.array(self.kv, dtype=np.int64),
                "kv_capacity_tokens": np.full(n, capacity_tokens, dtype=np.int64),
                "busy_s": np.array(self.busy, dtype=np.float64)}

    def work_arrays(self) -> dict:
        w = np.array(self.work, dtype=np.float64).reshape(-1, 4)
        return {"sampled": w[:, 0], "decode_ctx_sum": w[:, 1], "scores": w[:, 2],
                "prior_tokens": w[:, 3]}


class FastState:
    """Engine state with decoding requests aggregated (see the module docstring)."""

    def __init__(self, requests: RequestSet, kv: KvPool) -> None:
        n = requests.n
        self.kv = kv
        self.B = kv.block_tokens
        self.prompt = requests.prompt_tokens.tolist()
        self.output = requests.output_tokens.tolist()
        self.real_output = list(self.output)
        self.waiting: deque = deque()
        self.swapped: deque = deque()
        self.prefilling: list = []
        self._remaining = [0] * n
        self._done = [0] * n  # prompt tokens already prefilled in the current admission
        self.gen = [0] * n  # tokens emitted (valid while not decoding)
        self.alloc = [0] * n  # blocks held (reserved requests: fixed)
        self.reserved = [False] * n
        self.used = 0
        self.nd = 0
        self.ctx_sum = 0
        self.D = 0
        self.bucket = [0] * self.B
        self.finish_at: dict = {}
        self.finish_keys: list = []  # heap of finish_at keys (may hold stale ones)
        self.order: list = []
        self.stint = [0] * n
        self.decoding = [False] * n
        self.join_D = [0] * n
        self.join_g = [0] * n
        self.preempts = [0] * n
        self.step_end: list = []  # end time of each decode step
        self.segments: list = []  # (request, first token position, D0, D1)
        self.emits: list = []  # (request, token position, time) of prefill-emitted tokens

    # -- what schedulers read -----------------------------------------------------------
    @property
    def n_decode(self) -> int:
        return self.nd

    @property
    def free_blocks(self) -> int:
        return self.kv.capacity_blocks - self.used

    def remaining(self, i: int) -> int:
        return self._remaining[i]

    def prefill_len(self, i: int) -> int:
        return self.prompt[i] + self.gen[i]

    def decode_new_blocks(self) -> int:
        return self.bucket[(-self.D) % self.B]

    def swap_blocks_needed(self) -> int:
        i = self.swapped[0]
        return self.kv.blocks(self.prompt[i] + self.gen[i] - 1)

    def set_lengths(self, i: int, *, prompt: int, output: int) -> None:
        self.prompt[i] = prompt
        self.output[i] = output

    # -- what schedulers change -----------------------------------------------------------
    def admit(self, i: int, *, tokens: int, blocks: int, reserve: bool) -> None:
        head = self.waiting.popleft()
        assert head == i
        self._remaining[i] = tokens
        self._done[i] = 0
        self.alloc[i] = blocks
        self.reserved[i] = reserve
        self.used += blocks
        self.prefilling.append(i)

    def _join(self, i: int) -> None:
        g = self.gen[i]
        c0 = self.prompt[i] + g
        self.decoding[i] = True
        self.stint[i] += 1
        self.join_D[i] = self.D
        self.join_g[i] = g
        self.nd += 1
        self.ctx_sum += c0
        if not self.reserved[i]:
            self.bucket[(c0 - self.D - 1) % self.B] += 1
        end = self.D + self.output[i] - g
        lst = self.finish_at.get(end)
        if lst is None:
            self.finish_at[end] = [(i, self.stint[i])]
            heapq.heappush(self.finish_keys, end)
        else:
            lst.append((i, self.stint[i]))
        self.order.append((i, self.stint[i]))

    def _leave(self, i: int) -> int:
        """Take i out of the decode aggregate; returns the blocks it holds."""
        g0, d0 = self.join_g[i], self.join_D[i]
        g = g0 + self.D - d0
        self.gen[i] = g
        self.decoding[i] = False
        self.stint[i] += 1
        self.nd -= 1
        self.ctx_sum -= self.prompt[i] + g
        if not self.reserved[i]:
            self.bucket[(self.prompt[i] + g0 - d0 - 1) % self.B] -= 1
            blocks = self.kv.blocks(self.prompt[i] + g - 1)
        else:
            blocks = self.alloc[i]
        if self.D > d0:
            self.segments.append((i, g0, d0, self.D))
        self.used -= blocks
        return blocks

    def preempt_last(self) -> tuple[int, int]:
        while True:
            i, s = self.order.pop()
            if self.decoding[i] and self.stint[i] == s:
                break
        blocks = self._leave(i)
        self.preempts[i] += 1
        return i, blocks

    def swap_in(self) -> int:
        i = self.swapped.popleft()
        blocks = self.kv.blocks(self.prompt[i] + self.gen[i] - 1)
        self.alloc[i] = blocks
        self.used += blocks
        self._join(i)
        return blocks

    # -- one iteration ------------------------------------------------------------------
    def iteration(self, *, plan: Plan, step: StepModel, swap_s_per_block: float) -> tuple:
        """Seconds of the planned iteration, its batch size, prefill and decode tokens, and
        its work counts (sampled rows, decode context sum, attention scores, prior
        tokens read by prefill chunks)."""
        nd = self.nd if plan.decode else 0
        chunks = [(c, self._done[i]) for i, c in plan.chunks]
        ptok = 0
        sampled = nd
        scores = prior = 0.0
        for i, c in plan.chunks:
            ptok += c
            p = self._done[i]
            scores += c * (p + (c + 1) / 2.0)
            prior += p
            if c == self._remaining[i]:
                sampled += 1
        if nd:
            self.used += self.decode_new_blocks()
        ctx = self.ctx_sum if nd else 0
        dt = step.time(tokens=ptok + nd, sampled=sampled, decode_n=nd, decode_ctx_sum=ctx,
                       chunks=chunks)
        return (dt + plan.swap_blocks * swap_s_per_block, nd + len(chunks), ptok, nd,
                (sampled, ctx, scores, prior))

    def finish_iteration(self, *, plan: Plan, t: float) -> list:
        """Apply the iteration ending at ``t``; returns requests that completed."""
        done = []
        if plan.decode and self.nd:
            self.step_end.append(t)
            self.D += 1
            self.ctx_sum += self.nd
            for i, s in self.finish_at.pop(self.D, ()):
                if self.decoding[i] and self.stint[i] == s:
                    self._leave(i)
                    done.append(i)
        for i, c in plan.chunks:
            self._done[i] += c
            self._remaining[i] -= c
            if self._remaining[i] == 0:
                self.prefilling.remove(i)
                g = self.gen[i]
                self.emits.append((i, g, t))
                self.gen[i] = g + 1
                if self.gen[i] >= self.output[i]:
                    self.used -= self.alloc[i] if self.reserved[i] else self.kv.blocks(
                        self.prompt[i] + self.gen[i] - 1)
                    done.append(i)
                else:
                    if not self.reserved[i]:
                        self.alloc[i] = self.kv.blocks(self.prompt[i] + g)
                    self._join(i)
        return done

    @property
    def kv_used_tokens(self) -> int:
        return self.used * self.B

    def fast_forward(self, *, t: float, step: StepModel, until_s: float, rec) -> float:
        """Run, in bulk, the decode-only iterations before the next completion, the next
        arrival (no iteration starts at or after ``until_s``) and the point where block
        growth would exceed the free blocks; returns the time after them (``t`` when
        fewer than two qualify). Only called when nothing else can change meanwhile."""
        nd = self.nd
        keys = self.finish_keys
        while keys and keys[0] <= self.D:
            heapq.heappop(keys)
        if not keys or nd > step.tokens_axis.exact:
            return t
        k = keys[0] - self.D - 1  # the completing step runs through the normal path
        if k < MIN_BULK:
            return t
        if until_s < np.inf and rec.busy:
            # decode steps only lengthen as contexts grow: the last step's time bounds
            # how many can start before the next arrival (cheap test before numpy)
            room = (until_s - t) / rec.busy[-1]
            if room < MIN_BULK:
                return t
            k = min(k, int(room) + 2)
        B = self.B
        bucket, D = self.bucket, self.D
        pattern = np.array([bucket[(-(D + j)) % B] for j in range(B)], np.int64)
        growth = np.cumsum(np.resize(pattern, k))
        k = min(k, int(np.searchsorted(growth, self.free_blocks, side="right")))
        if k < MIN_BULK:
            return t
        dt = step.decode_times(nd, self.ctx_sum, k)
        ends = np.cumsum(np.concatenate([[t], dt]))
        m = min(k, int(np.searchsorted(ends[:-1], until_s, side="left")))
        if m < 1:
            return t
        ends = ends[1:m + 1]
        used0 = self.used
        self.used += int(growth[m - 1])
        ctx = self.ctx_sum + np.arange(m, dtype=np.int64) * nd
        self.D += m
        self.ctx_sum += m * nd
        end_list = ends.tolist()
        self.step_end.extend(end_list)
        rec.t.extend(end_list)
        rec.batch.extend([nd] * m)
        rec.prefill.extend([0] * m)
        rec.decode.extend([nd] * m)
        rec.kv.extend(((used0 + growth[:m]) * B).tolist())
        rec.busy.extend(dt[:m].tolist())
        rec.work.extend(zip([nd] * m, ctx.tolist(), [0.0] * m, [0.0] * m))
        return end_list[-1]

    def token_times(self, offsets: np.ndarray) -> np.ndarray:
        """Every emitted token's time, per request in order (flat, by ``offsets``).

        A request's tokens are pieces in order: a token emitted by a prefill, then a run of
        decode steps (a slice of the decode steps' end times), and again after a
        preemption. The pieces are sorted by flat position and concatenated in one pass.
        """
        real = self.real_output
        ends = np.asarray(self.step_end, dtype=np.float64)
        pieces = []
        for i, pos, t in self.emits:
            if pos < real[i]:
                pieces.append((int(offsets[i]) + pos, t, -1))
        for i, g0, d0, d1 in self.segments:
            n = min(d1 - d0, real[i] - g0)
            if n > 0:
                pieces.append((int(offsets[i]) + g0, d0, d0 + n))
        pieces.sort()
        arrays = [ends[a:b] if b >= 0 else np.array([a], dtype=np.float64)
                  for _, a, b in pieces]
        out = np.concatenate(arrays) if arrays else np.zeros(0)
        if out.shape[0] != int(offsets[-1]):  # pragma: no cover - conservation broken
            raise AssertionError("token count not conserved")
        return out


def run(*, requests: RequestSet, scheduler: Scheduler, step: StepModel, kv: KvPool,
        state_factory=FastState, progress: Callable[[float], None] | None = None,
        swap_s_per_block: float = 0.0, stop_ttft_misses: tuple[float, int] | None = None
        ) -> RawRun:
    """Simulate ``requests`` through ``scheduler`` on one instance with ``state_factory``.

    ``stop_ttft_misses=(slo_s, k)`` stops the run as soon as k requests have missed the
    TTFT SLO (a goodput search only needs to know that attainment is out of reach); the
    result then has ``stopped`` set and NaN for what did not happen."""
    n = requests.n
    st = state_factory(requests, kv)
    closed = requests.concurrency
    arrival = requests.arrival_s.tolist() if closed is None else [0.0] * n
    released = n if closed is None else min(closed, n)
    reasons: dict = {}
    rejected = [False] * n
    for i in range(n):
        why = scheduler.reject_reason(st.prompt[i], st.output[i])
        if why is not None:
            rejected[i] = True
            reasons[why] = reasons.get(why, 0) + 1
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
    while True:
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
        plan = scheduler.plan(st)
        if (plan.decode and not plan.chunks and not plan.swap_blocks and not plan.preempted
                and not st.prefilling and not st.swapped and fast_forward is not None
                and (scheduler.stable_when_blocked or not st.waiting)):
            t_next = t
            t = fast_forward(t=t, step=step, rec=rec,
                             until_s=arrival[ai] if ai < released else np.inf)
            if t != t_next:
                continue
        if plan.empty:
            if ai < released:
                t = max(t, arrival[ai])
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
        rec.t.append(t)
        rec.batch.append(batch)
        rec.prefill.append(ptok)
        rec.decode.append(dtok)
        rec.kv.append(kv_now)
        rec.busy.append(dt)
        rec.work.append(work)
        for i, _ in plan.chunks:
            if first[i] != first[i] and st.gen[i] > 0:
                first[i] = t
                if t - arrival[i] > ttft_slo:
                    misses += 1
        if misses >= miss_cap:
            stopped = True
            break
        for i in done:
            finish[i] = t
            if closed is not None and released < n:
                arrival[released] = t
                released += 1
        if done:
            finished += len(done)
            if progress is not None and finished % step_tick < len(done):
                progress(finished / n)
    if progress is not None:
        progress(1.0)
    out_real = np.where(np.array(rejected), 0, requests.output_tokens)
    offsets = np.concatenate([[0], np.cumsum(out_real)]).astype(np.int64)
    return RawRun(
        arrival_s=np.array(arrival, dtype=np.float64), start_s=np.array(start),
        first_token_s=np.array(first), finish_s=np.array(finish),
        preemptions=np.array(st.preempts, dtype=np.int64),
        token_times_s=np.full(int(offsets[-1]), np.nan) if stopped else st.token_times(offsets),
        token_offsets=offsets, stopped=stopped,
        rejected=np.array(rejected), reject_reasons=reasons,
        series=rec.arrays(kv.capacity_tokens), work=rec.work_arrays())
