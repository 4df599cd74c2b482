"""Adrenaline's offload admission (arXiv 2503.20552), per request, in the decode
instance's event loop.

When a request enters decode (its KV arrived from the prefill instance), the decode
instance decides where its KV and decode attention live for the rest of its life:

- **offloaded** (KV on a prefill instance, attention in the executor there) when its KV
  counted at its maximum length (prompt + output tokens, rounded up to whole blocks) fits
  the prefill-side KV room left for this decode instance (``budget_tokens`` less what the
  offloaded requests it already holds take, also at maximum length) and offloading it keeps
  the offloaded share of the decoding requests, (offloaded + 1) / (decoding + 1), within
  the offload bound ``bound``;
- **local** otherwise: the decode instance's own scheduler admits it into its KV pool as
  in plain PD disaggregation (first come first served: a local request that does not fit
  waits at the head of the queue).

An offloaded request takes no local KV blocks (admitted with a fixed reservation of 0
blocks); its prefill-side room is returned when it completes. The decode step view
(``OffloadStep``) reads how many decoding requests are offloaded (``decoding``) to split
each step's attention into local and remote parts.

Not modelled: a preempted (swapped-out) offloaded request keeps its prefill-side room and
comes back as a local one would (the decode scheduler sees only local blocks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.serve.schedulers.base import EngineState, Plan, Scheduler


@dataclass(frozen=True)
class OffloadRule:
    """What a decode instance may offload: the offload bound (largest offloaded share of
    its decoding requests) and the prefill-side KV room (tokens) reserved for it."""

    bound: float
    budget_tokens: int


class OffloadLedger:
    """One decode instance's offloaded requests and the record of every admission."""

    def __init__(self, rule: OffloadRule, *, n: int, block_tokens: int) -> None:
        self.rule = rule
        self.block_tokens = block_tokens
        self.used_tokens = 0  # prefill-side KV of the offloaded requests, at max length
        self.holding: dict[int, int] = {}  # offloaded request -> its max-length tokens
        self.joined = 0  # offloaded requests decoding (admitted before this iteration)
        self.pending: list[int] = []  # admitted in the current plan
        # per request (local index): offloaded, and after its admission: offloaded share of
        # the decoding requests and offloaded KV tokens (NaN: never admitted to decode)
        self.offloaded = np.zeros(n, dtype=bool)
        self.share_at_admission = np.full(n, np.nan)
        self.kv_at_admission = np.full(n, np.nan)

    @property
    def decoding(self) -> int:
        """Offloaded requests in the running decode batch."""
        return self.joined

    def admit(self, i: int, *, max_tokens: int, decoding: int) -> bool:
        """Decide request i's placement as it enters decode (``decoding``: requests already
        admitted to decode on this instance); True: offloaded."""
        b = self.block_tokens
        need = -(-max_tokens // b) * b
        offload = (self.used_tokens + need <= self.rule.budget_tokens
                   and len(self.holding) + 1 <= self.rule.bound * (decoding + 1))
        if offload:
            self.holding[i] = need
            self.used_tokens += need
            self.pending.append(i)
            self.offloaded[i] = True
        self.share_at_admission[i] = len(self.holding) / (decoding + 1)
        self.kv_at_admission[i] = self.used_tokens
        return offload

    def new_iteration(self) -> None:
        """Requests admitted in the previous plan decode from now on."""
        self.joined += len(self.pending)
        self.pending.clear()

    def finished(self, ids: list[int]) -> None:
        for i in ids:
            need = self.holding.pop(i, None)
            if need is not None:
                self.used_tokens -= need
                self.joined -= 1


class OffloadAdmission(Scheduler):
    """A decode instance's scheduler with offload admission in front: requests at the head
    of the queue that the ledger offloads are admitted with no local blocks; the wrapped
    scheduler then plans the iteration (local admissions, decodes, preemptions)."""

    def __init__(self, inner: Scheduler, ledger: OffloadLedger) -> None:
        self.inner = inner
        self.ledger = ledger
        self.config = inner.config
        self.kv = inner.kv
        self.max_tokens = inner.max_tokens
        self.max_context = inner.max_context
        self.name = inner.name
        self.stable_when_blocked = inner.stable_when_blocked
        self.uses_watermark = inner.uses_watermark
        self.truncates = inner.truncates

    def reject_reason(self, prompt: int, output: int) -> str | None:
        return self.inner.reject_reason(prompt, output)

    def plan(self, st: EngineState) -> Plan:
        self.ledger.new_iteration()
        chunks = []
        if not st.swapped:
            admitted = st.n_decode + len(st.prefilling)
            while st.waiting and admitted < self.config.max_num_seqs:
                i = st.waiting[0]
                if not self.ledger.admit(i, max_tokens=st.prompt[i] + st.output[i],
                                         decoding=admitted):
                    break
                n = st.prefill_len(i)
                st.admit(i, tokens=n, blocks=0, reserve=True)
                chunks.append((i, n))
                admitted += 1
        plan = self.inner.plan(st)
        plan.chunks = chunks + plan.chunks
        return plan

    def finished(self, ids: list[int]) -> None:
        self.ledger.finished(ids)
        self.inner.finished(ids)
