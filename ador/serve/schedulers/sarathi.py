"""Sarathi-Serve (OSDI'24): chunked prefill with stall-free batching.

Every iteration takes all running decodes first, then prefill chunks of admitted
requests (admission order), then admits new requests, until ``chunk_tokens`` tokens
(decodes included) are batched. KV blocks for a whole prompt are taken at admission
(with vLLM's watermark); growth beyond the cache preempts as vLLM does.
"""

from __future__ import annotations

from ador.serve.schedulers.base import EngineState, Plan, Scheduler
from ador.spec.scheduler import SchedulerConfig


class SarathiScheduler(Scheduler):
    name = "sarathi"
    stable_when_blocked = False  # admission leaves room for this step's block growth
    uses_watermark = True

    @staticmethod
    def default_tokens(config: SchedulerConfig, max_context: int) -> int:
        return config.chunk_tokens

    def plan(self, st: EngineState) -> Plan:
        cfg = self.config
        plan = Plan()
        self.make_room_for_decodes(st, plan)
        self.swap_back(st, plan)
        growth = st.decode_new_blocks()
        budget = self.continue_prefills(st, plan, cfg.chunk_tokens - st.n_decode)
        seqs = st.n_decode + len(st.prefilling)
        while budget > 0 and st.waiting and seqs < cfg.max_num_seqs and not st.swapped:
            i = st.waiting[0]
            n = st.prefill_len(i)
            need = self.kv.blocks(n)
            if st.free_blocks - growth - need < self.kv.watermark_blocks:
                break
            st.admit(i, tokens=n, blocks=need, reserve=False)
            c = min(n, budget)
            plan.chunks.append((i, c))
            budget -= c
            seqs += 1
        plan.decode = st.n_decode > 0
        return plan
