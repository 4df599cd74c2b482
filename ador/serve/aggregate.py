"""Engine state with decoding requests aggregated: per-iteration work independent of how
many requests are running.

Decoding requests are a count and a sum of contexts; block growth is counted in
``block_tokens`` buckets by context phase (a request needs a new block when its cache
crosses a block boundary, which happens every ``block_tokens`` steps at a fixed phase);
completions are a map from decode-step index to the requests that end there. A request's
token times are recovered at the end from the decode steps' end times and the step-index
ranges it decoded in. Stretches of decode-only iterations in which nothing can change are
run in bulk (``fast_forward``).
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from ador.serve.kv import KvPool
from ador.serve.requests import RequestSet
from ador.serve.schedulers.base import Plan
from ador.serve.stepviews import Step

MIN_BULK = 8  # fewer decode-only steps than this run one by one (numpy set-up costs more)


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
        self.held = 0  # blocks of finished requests kept until released (engine's holds)
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
        return self.kv.capacity_blocks - self.used - self.held

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
        if d0 < self.D:
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
    def iteration(self, *, plan: Plan, step: Step, swap_s_per_block: float) -> tuple:
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
        return (self.used + self.held) * self.B

    def fast_forward(self, *, t: float, step: Step, until_s: float, rec) -> float:
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
        if until_s < np.inf and rec.busy and rec.busy[-1] > 0:
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
        rec.work.extend(zip([nd] * m, ctx.tolist(), [0.0] * m, [0.0] * m, strict=True))
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
