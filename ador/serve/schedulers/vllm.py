"""vLLM (SOSP'23, v0 scheduler): continuous batching over a paged KV cache.

Prefill priority: while requests wait and fit (token cap ``max_batched_tokens``, at most
``max_num_seqs`` running, ``watermark`` share of the blocks left free), an iteration runs
only new prefills (whole prompts) and the decodes pause. Otherwise every running request
decodes one token; when the cache cannot hold the step's new blocks, the most recently
admitted requests are preempted (recompute or swap). Swapped requests come back before
any new prefill is admitted.
"""

from __future__ import annotations

from ador.serve.schedulers.base import EngineState, Plan, Scheduler
from ador.spec.scheduler import SchedulerConfig


class VllmScheduler(Scheduler):
    name = "vllm"
    uses_watermark = True

    @staticmethod
    def default_tokens(config: SchedulerConfig, max_context: int) -> int:
        # vLLM's default without chunked prefill: max(max_model_len, 2048)
        return config.max_batched_tokens or max(max_context, 2048)

    def reject_reason(self, prompt: int, output: int) -> str | None:
        reason = super().reject_reason(prompt, output)
        if reason is None and prompt + output > self.max_tokens:
            return "longer than max_batched_tokens (prefill after preemption cannot run)"
        return reason

    def plan(self, st: EngineState) -> Plan:
        cfg = self.config
        plan = Plan()
        if not st.swapped:
            budget = self.max_tokens
            seqs = st.n_decode
            while st.waiting:
                i = st.waiting[0]
                n = st.prefill_len(i)
                need = self.kv.blocks(n)
                if (n > budget or seqs >= cfg.max_num_seqs
                        or st.free_blocks - need < self.kv.watermark_blocks):
                    break
                st.admit(i, tokens=n, blocks=need, reserve=False)
                plan.chunks.append((i, n))
                budget -= n
                seqs += 1
            if plan.chunks:
                return plan
        self.make_room_for_decodes(st, plan)
        self.swap_back(st, plan)
        plan.decode = st.n_decode > 0
        return plan
