"""Reference engine state: one object per request, everything recomputed each iteration.

Slow (work per iteration grows with the running requests) and deliberately simple; tests
require the fast engine (ador.serve.engine.FastState) to produce identical results.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ador.serve.kv import KvPool
from ador.serve.requests import RequestSet
from ador.serve.schedulers.base import Plan
from ador.serve.stepviews import Step


class Req:
    def __init__(self, i: int, prompt: int, output: int) -> None:
        self.i = i
        self.prompt = prompt
        self.output = output
        self.gen = 0  # tokens emitted
        self.blocks = 0  # KV blocks held
        self.reserved = False
        self.remaining = 0
        self.done = 0
        self.times: list = []


class ReferenceState:
    def __init__(self, requests: RequestSet, kv: KvPool) -> None:
        self.kv = kv
        self.reqs = [Req(i, int(p), int(o)) for i, (p, o) in enumerate(
            zip(requests.prompt_tokens, requests.output_tokens, strict=True))]
        self.real_output = requests.output_tokens.tolist()
        self.waiting: deque = deque()
        self.swapped: deque = deque()
        self.prefilling: list = []
        self.running: list = []  # decoding requests in join order
        self.preempts = [0] * requests.n
        self.held = 0  # blocks of finished requests kept until released (engine's holds)

    @property
    def prompt(self) -> list:
        return [r.prompt for r in self.reqs]

    @property
    def output(self) -> list:
        return [r.output for r in self.reqs]

    @property
    def gen(self) -> list:
        return [r.gen for r in self.reqs]

    @property
    def n_decode(self) -> int:
        return len(self.running)

    @property
    def used(self) -> int:
        held = [r.blocks for r in self.running] + [self.reqs[i].blocks for i in self.prefilling]
        return sum(held)

    @property
    def free_blocks(self) -> int:
        return self.kv.capacity_blocks - self.used - self.held

    def remaining(self, i: int) -> int:
        return self.reqs[i].remaining

    def prefill_len(self, i: int) -> int:
        r = self.reqs[i]
        return r.prompt + r.gen

    def decode_new_blocks(self) -> int:
        # the step writes the KV of the last emitted token: cache grows to prompt + gen
        return sum(1 for r in self.running
                   if not r.reserved and self.kv.blocks(r.prompt + r.gen) > r.blocks)

    def swap_blocks_needed(self) -> int:
        r = self.reqs[self.swapped[0]]
        return self.kv.blocks(r.prompt + r.gen - 1)

    def set_lengths(self, i: int, *, prompt: int, output: int) -> None:
        self.reqs[i].prompt = prompt
        self.reqs[i].output = output

    def admit(self, i: int, *, tokens: int, blocks: int, reserve: bool) -> None:
        assert self.waiting.popleft() == i
        r = self.reqs[i]
        r.remaining, r.done, r.blocks, r.reserved = tokens, 0, blocks, reserve
        self.prefilling.append(i)

    def preempt_last(self) -> tuple[int, int]:
        r = self.running.pop()
        blocks, r.blocks = r.blocks, 0
        self.preempts[r.i] += 1
        return r.i, blocks

    def swap_in(self) -> int:
        r = self.reqs[self.swapped.popleft()]
        r.blocks = self.kv.blocks(r.prompt + r.gen - 1)
        self.running.append(r)
        return r.blocks

    def iteration(self, *, plan: Plan, step: Step, swap_s_per_block: float):
        running = self.running if plan.decode else []
        for r in running:
            if not r.reserved:
                r.blocks = max(r.blocks, self.kv.blocks(r.prompt + r.gen))
        chunks = [(c, self.reqs[i].done) for i, c in plan.chunks]
        ptok = sum(c for c, _ in chunks)
        sampled = len(running) + sum(1 for i, c in plan.chunks if c == self.reqs[i].remaining)
        ctx = sum(r.prompt + r.gen for r in running)
        dt = step.time(tokens=ptok + len(running), sampled=sampled, decode_n=len(running),
                       decode_ctx_sum=ctx, chunks=chunks)
        scores = sum(c * (p + (c + 1) / 2.0) for c, p in chunks)
        prior = sum(p for _, p in chunks)
        return (dt + plan.swap_blocks * swap_s_per_block, len(running) + len(chunks), ptok,
                len(running), (sampled, ctx, scores, prior))

    def finish_iteration(self, *, plan: Plan, t: float) -> list:
        done = []
        if plan.decode:
            for r in list(self.running):
                r.times.append((r.gen, t))
                r.gen += 1
                if r.gen >= r.output:
                    self.running.remove(r)
                    r.blocks = 0
                    done.append(r.i)
        for i, c in plan.chunks:
            r = self.reqs[i]
            r.done += c
            r.remaining -= c
            if r.remaining == 0:
                self.prefilling.remove(i)
                r.times.append((r.gen, t))
                r.gen += 1
                if r.gen >= r.output:
                    r.blocks = 0
                    done.append(i)
                else:
                    self.running.append(r)
        return done

    @property
    def kv_used_tokens(self) -> int:
        return (self.used + self.held) * self.kv.block_tokens

    def token_times(self, offsets: np.ndarray) -> np.ndarray:
        out = np.full(int(offsets[-1]), np.nan)
        for r in self.reqs:
            for pos, t in r.times:
                if pos < self.real_output[r.i]:
                    out[offsets[r.i] + pos] = t
        return out
