"""TensorRT-LLM in-flight batching with the "guaranteed no evict" capacity policy.

A waiting request is admitted only when the KV cache can reserve its whole input + output
(so no request is ever evicted) and fewer than ``max_batch_size`` requests are active.
Context (prefill) and generation requests share an iteration of at most ``max_num_tokens``
tokens (each decode counts one): decodes first, then the chunks of admitted prompts, then
new prompts; a prompt that does not fit what is left of the budget is split over
iterations (chunked context), so a long prompt never waits for the decodes to end. Unset
limits are derived from the KV capacity as ``trtllm-bench build`` does (``derive_limits``;
public logic, described in ../shared/validation/serving_README.md).
"""

from __future__ import annotations

import math

import numpy as np

from ador.serve.schedulers.base import EngineState, Plan, Scheduler
from ador.spec.scheduler import SchedulerConfig

BENCH_MEMORY_FRACTION = 0.95  # trtllm-bench: KV gets 95 % of the memory left after weights
MAX_REQUESTS = 4096
MAX_TOKENS_CAP = 32768


def _round_batch(b: float) -> int:
    if b < 256:
        return max(64, 32 * math.ceil(b / 32))
    if b < 1024:
        return 128 * math.ceil(b / 128)
    return 256 * math.ceil(b / 256)


def _round_tokens(t: float) -> int:
    if t < 4096:
        return max(2048, 256 * math.ceil(t / 256))
    if t < 8192:
        return 512 * math.ceil(t / 512)
    return 1024 * math.ceil(t / 1024)


def derive_limits(*, memory_bytes_total: float, weight_bytes_total: float,
                  kv_bytes_per_token: float, isl: float, osl: float, pp: int = 1
                  ) -> tuple[int, int]:
    """(max batch size, max tokens per iteration) as trtllm-bench sets them.

    ``memory_bytes_total`` is tp*pp*GPU memory, ``kv_bytes_per_token`` counts at least one
    KV head per GPU; ``isl``/``osl`` are the dataset's mean input and output lengths.
    """
    fits = BENCH_MEMORY_FRACTION * (memory_bytes_total - weight_bytes_total) / (
        kv_bytes_per_token * (isl + osl))
    b = min(fits, MAX_REQUESTS) / pp
    t = min(b * (1 + isl / osl), MAX_TOKENS_CAP)
    return _round_batch(b), _round_tokens(t)


class TrtllmScheduler(Scheduler):
    name = "trtllm"

    @staticmethod
    def default_tokens(config: SchedulerConfig, max_context: int) -> int:
        return config.max_num_tokens or MAX_TOKENS_CAP

    @classmethod
    def resolve_limits(cls, *, config: SchedulerConfig, max_context: int, step=None,
                       requests=None) -> dict:
        """Unset max batch size and max tokens derived from the instance's memory and the
        request set's mean input and output lengths, as trtllm-bench does."""
        b, t = derive_limits(
            memory_bytes_total=step.hbm_bytes_per_chip * step.chips,
            weight_bytes_total=step.weight_bytes_total,
            kv_bytes_per_token=step.kv_bytes_per_token_all,
            isl=float(np.mean(requests.prompt_tokens)),
            osl=float(np.mean(requests.output_tokens)), pp=step.pp)
        return {"max_tokens": config.max_num_tokens or t,
                "max_batch_size": config.max_batch_size or b}

    def __init__(self, *, max_batch_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_batch_size = max_batch_size

    def plan(self, st: EngineState) -> Plan:
        plan = Plan()
        budget = self.continue_prefills(st, plan, self.max_tokens - st.n_decode)
        active = st.n_decode + len(st.prefilling)
        while st.waiting and active < self.max_batch_size and budget > 0:
            i = st.waiting[0]
            n = st.prefill_len(i)
            need = self.kv.blocks(st.prompt[i] + st.output[i])
            if need > st.free_blocks:
                break
            st.admit(i, tokens=n, blocks=need, reserve=True)
            c = min(n, budget)
            plan.chunks.append((i, c))
            budget -= c
            active += 1
        plan.decode = st.n_decode > 0
        return plan
