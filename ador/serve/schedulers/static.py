"""Static batching (FasterTransformer, HF transformers): a padded batch runs to its end.

When the instance is idle, the waiting requests (first come, first served, up to
``max_num_seqs``, as many as the KV cache holds at the padded length) form one batch; every
member is padded to the longest prompt and runs as many steps as the longest output, and
all members complete when the batch ends. Nothing joins a running batch.
"""

from __future__ import annotations

from ador.serve.schedulers.base import EngineState, Plan, Scheduler
from ador.spec.scheduler import SchedulerConfig

STATIC_MAX_TOKENS = 32768  # padded prompt tokens of one batch when not set


class StaticScheduler(Scheduler):
    name = "static"

    @staticmethod
    def default_tokens(config: SchedulerConfig, max_context: int) -> int:
        return config.max_batched_tokens or STATIC_MAX_TOKENS

    def plan(self, st: EngineState) -> Plan:
        plan = Plan()
        if st.n_decode or st.prefilling:
            plan.decode = st.n_decode > 0
            return plan
        members: list[int] = []
        p_max = o_max = 0
        for i in st.waiting:
            if len(members) >= self.config.max_num_seqs:
                break
            p, o = max(p_max, st.prompt[i]), max(o_max, st.output[i])
            if (len(members) + 1) * self.kv.blocks(p + o) > self.kv.capacity_blocks:
                break
            if p * (len(members) + 1) > self.max_tokens:
                break
            members.append(i)
            p_max, o_max = p, o
        for i in members:
            st.set_lengths(i, prompt=p_max, output=o_max)
            st.admit(i, tokens=p_max, blocks=self.kv.blocks(p_max + o_max), reserve=True)
            plan.chunks.append((i, p_max))
        return plan
