"""What every scheduler sees of the engine, and what it returns for one iteration.

A scheduler never touches per-request data structures of an engine directly; it calls the
methods of ``EngineState`` (implemented by the fast engine with aggregate decode state and
by the object-per-request reference engine), so both engines take identical decisions.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from ador.serve.kv import KvPool
from ador.spec.scheduler import SchedulerConfig


class EngineState(Protocol):
    waiting: deque  # request ids, front first (preempted requests go back to the front)
    swapped: deque  # requests whose KV sits in host memory (swap preemption)
    prefilling: list  # admitted requests with prompt tokens left, admission order
    prompt: list  # effective prompt tokens per request
    output: list  # effective output tokens per request
    real_output: list  # tokens each request delivers (its own length, or less if truncated)

    @property
    def n_decode(self) -> int: ...
    @property
    def free_blocks(self) -> int: ...
    def remaining(self, i: int) -> int: ...  # prompt tokens of i still to prefill
    def prefill_len(self, i: int) -> int: ...  # tokens to prefill on (re)admission
    def decode_new_blocks(self) -> int: ...  # blocks the next decode step allocates
    def admit(self, i: int, *, tokens: int, blocks: int, reserve: bool) -> None: ...
    def preempt_last(self) -> tuple[int, int]: ...  # (request, blocks freed)
    def swap_in(self) -> int: ...  # blocks moved back
    def swap_blocks_needed(self) -> int: ...  # blocks of the oldest swapped request
    def set_lengths(self, i: int, *, prompt: int, output: int) -> None: ...


@dataclass
class Plan:
    """One iteration: prefill chunks (request, new tokens), whether running decodes step,
    KV blocks moved over the host link (swap out or in) and requests preempted."""

    chunks: list = field(default_factory=list)
    decode: bool = False
    swap_blocks: int = 0
    preempted: int = 0

    @property
    def empty(self) -> bool:
        return not self.chunks and not self.decode


class Scheduler:
    """Base: limits shared by every policy. ``max_tokens`` is the iteration token cap."""

    name = "base"
    # True when a decode-only iteration that admitted nothing stays so until a request
    # completes or arrives (admission never depends on the per-step block growth): the
    # engine may then run such iterations in bulk
    stable_when_blocked = True
    uses_watermark = False  # vLLM-style admission keeps a share of the blocks free
    truncates = False  # may end requests before their output length (``real_output``)

    @classmethod
    def resolve_limits(cls, *, config: SchedulerConfig, max_context: int, step=None,
                       requests=None) -> dict:
        """The iteration token cap (``max_tokens``) and any other limit the policy's
        constructor takes, with unset ones given their defaults."""
        return {"max_tokens": cls.default_tokens(config, max_context)}

    @staticmethod
    def default_tokens(config: SchedulerConfig, max_context: int) -> int:
        """Most batched tokens per iteration (before any derivation from the cache)."""
        raise NotImplementedError

    def __init__(self, *, config: SchedulerConfig, kv: KvPool, max_tokens: int,
                 max_context: int) -> None:
        self.config = config
        self.kv = kv
        self.max_tokens = max_tokens
        self.max_context = max_context

    def reject_reason(self, prompt: int, output: int) -> str | None:
        """Why a request can never run under this policy (None: it can)."""
        if prompt + output > self.max_context:
            return "longer than the model context"
        if self.kv.blocks(prompt + output) > self.kv.capacity_blocks - self.kv.watermark_blocks:
            return "larger than the whole KV cache"
        return None

    def plan(self, st: EngineState) -> Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    def finished(self, ids: list[int]) -> None:
        """Told the requests that completed in the last iteration (nothing by default)."""

    def make_room_for_decodes(self, st: EngineState, plan: Plan) -> None:
        """Preempt the most recently admitted decoding requests until the next decode
        step's new blocks fit (vLLM: recompute puts them back at the queue's front, swap
        moves their KV to host memory)."""
        while st.n_decode and st.decode_new_blocks() > st.free_blocks:
            i, blocks = st.preempt_last()
            plan.preempted += 1
            if self.config.preemption == "swap":
                st.swapped.append(i)
                plan.swap_blocks += blocks
            else:
                st.waiting.appendleft(i)

    @staticmethod
    def continue_prefills(st: EngineState, plan: Plan, budget: int) -> int:
        """Next chunks of the requests already prefilling, oldest first, within ``budget``
        tokens; returns the budget left."""
        for i in st.prefilling:
            if budget <= 0:
                break
            c = min(st.remaining(i), budget)
            plan.chunks.append((i, c))
            budget -= c
        return budget

    def swap_back(self, st: EngineState, plan: Plan) -> None:
        """Bring swapped requests back (oldest first) when no request was swapped out
        this iteration and their blocks, plus this step's growth, leave the watermark."""
        if plan.swap_blocks:
            return
        while st.swapped:
            need = st.swap_blocks_needed() + 1 + st.decode_new_blocks()
            if need > st.free_blocks - self.kv.watermark_blocks:
                break
            plan.swap_blocks += st.swap_in()
