"""Views of a step model that the cluster policies run instances with.

The event loop (``ador.serve.engine.run``) asks a step model for ``time`` and
``decode_times`` only; a view answers those for a changed situation and passes every other
attribute through to the step model it wraps:

- ``KvLoadStep``: a decode instance whose requests arrive with their prompt's KV (PD
  disaggregation): admitting a request costs no prefill compute (the KV came over a link).
- ``ShareStep``: a worker holding a share of the chip's compute units (semi-PD, Adrenaline's
  prefill instance): prefill-bearing iterations are compute-bound and take time / share;
  decode-only iterations are bandwidth-bound and take time / bandwidth_share(share).
- ``ExecutorSharedStep``: Adrenaline's prefill instance sharing its chip with the attention
  executor: a roofline of the reduced compute and bandwidth shares over the iteration's
  compute-time / memory-time split (sub-linear prefill slowdown; see the class).
- ``OffloadStep``: a decode instance whose decode attention runs for its offloaded
  requests on an executor elsewhere (Adrenaline): per step, the local attention and the
  remote attention plus its q/k/v/output transfers overlap.

Bandwidth reached by a share of the compute units: Adrenaline (arXiv 2503.20552) reports
that about 20% of an A100's SMs reach about 60% of its HBM bandwidth on decode attention;
``bandwidth_share(s) = 1 - (1 - s)^k`` with k = ln(0.4)/ln(0.8) = 4.1 passes through that
point, through (0, 0) and (1, 1).
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from ador.serve.stepmodel import StepModel

# Adrenaline: 20% of the SMs give 60% of the HBM bandwidth on decode attention
BANDWIDTH_SHARE_EXPONENT = math.log(0.4) / math.log(0.8)


def bandwidth_share(share: float) -> float:
    """Share of the HBM bandwidth a share of the compute units reaches (see the module)."""
    if share <= 0.0:
        return 0.0
    return 1.0 - (1.0 - min(share, 1.0)) ** BANDWIDTH_SHARE_EXPONENT


class StepView:
    """Passes every attribute but the overridden ones through to ``base``."""

    def __init__(self, base: StepModel) -> None:
        self.base = base

    def __getattr__(self, name: str):
        return getattr(self.base, name)

    def decode_times(self, n: int, ctx_sum: int, k: int) -> np.ndarray:
        return np.array([self.time(tokens=n, sampled=n, decode_n=n,
                                   decode_ctx_sum=ctx_sum + j * n) for j in range(k)])


# What an instance runs on: a step model or a view of one (attributes pass through).
Step = StepModel | StepView


class KvLoadStep(StepView):
    """Decode instance of PD disaggregation: prefill chunks cost nothing (the prompt's KV
    arrived by transfer); the chunk's token is the one the prefill instance emitted."""

    def time(self, *, tokens: int, sampled: int, decode_n: int = 0,
             decode_ctx_sum: float = 0.0, chunks=()) -> float:
        if not decode_n:
            return 0.0
        return self.base.time(tokens=decode_n, sampled=decode_n, decode_n=decode_n,
                              decode_ctx_sum=decode_ctx_sum)

    def decode_times(self, n: int, ctx_sum: int, k: int) -> np.ndarray:
        return self.base.decode_times(n, ctx_sum, k)


class ShareStep(StepView):
    """A worker with ``share`` of the compute units (0 < share <= 1): iterations that
    prefill take time / share**prefill_exponent (compute-bound; an exponent below 1 models
    a sub-linear slowdown), decode-only ones time / bandwidth_share(share). ``kv_load``:
    prefill chunks cost nothing (as ``KvLoadStep``)."""

    def __init__(self, base: StepModel, *, share: float, prefill_exponent: float = 1.0,
                 kv_load: bool = False, schedule: tuple = ()) -> None:
        super().__init__(base)
        self.prefill_exponent = prefill_exponent
        self.kv_load = kv_load
        self._set(share)
        # (from time s, share) pairs in time order: the share changes at those times
        self.schedule_t = [t for t, _ in schedule]
        self.schedule_share = [s for _, s in schedule]

    def _set(self, share: float) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share {share} outside (0, 1]")
        self.share = share
        self.prefill_factor = 1.0 / share ** self.prefill_exponent
        self.decode_factor = 1.0 / bandwidth_share(share)

    def at(self, t: float) -> None:
        """Take the scheduled share in force at time ``t`` (no schedule: unchanged)."""
        if self.schedule_t:
            k = bisect_right(self.schedule_t, t) - 1
            share = self.schedule_share[max(k, 0)]
            if share != self.share:
                self._set(share)

    def time(self, *, tokens: int, sampled: int, decode_n: int = 0,
             decode_ctx_sum: float = 0.0, chunks=()) -> float:
        if self.kv_load:
            if not decode_n:
                return 0.0
            return self.decode_factor * self.base.time(
                tokens=decode_n, sampled=decode_n, decode_n=decode_n,
                decode_ctx_sum=decode_ctx_sum)
        t = self.base.time(tokens=tokens, sampled=sampled, decode_n=decode_n,
                           decode_ctx_sum=decode_ctx_sum, chunks=chunks)
        return t * (self.prefill_factor if chunks else self.decode_factor)

    def decode_times(self, n: int, ctx_sum: int, k: int) -> np.ndarray:
        return self.decode_factor * self.base.decode_times(n, ctx_sum, k)


class ExecutorSharedStep(StepView):
    """Adrenaline's prefill instance with an attention executor beside it on the same chip
    (SMs partitioned by MPS): the prefill keeps ``compute_share`` of the compute units and
    ``hbm_share`` of the HBM bandwidth (what its units reach, less what the executor's
    bandwidth-bound decode attention takes).

    Rule, per prefill-bearing iteration: the step model's time ``t`` splits into its
    roofline part R = max(Tc, Tm) (Tc = matrix FLOPs / peak, Tm = HBM bytes / bandwidth,
    per chip, from the step model's work tables) and the rest t - R (kernel launches,
    synchronisation, wave tails and latency-bound kernels, which fewer SMs do not
    lengthen); with the shares the iteration takes (t - R) + max(Tc / compute_share,
    Tm / hbm_share). A compute-bound prefill thus slows by less than 1 / compute_share:
    on ador's A100 llama2-7b step model a 2048-token prefill has R = Tc = 0.66 t, so an
    executor with 20% of the SMs (prefill share 0.8) lengthens it 1.16x (linear: 1.25x)
    and 40% of the SMs 1.44x (linear: 1.67x); Adrenaline (arXiv 2503.20552) reports the
    prefill slowdown as sub-linear in the SMs taken. A short prefill whose Tm / hbm_share
    exceeds Tc / compute_share (bandwidth taken by the executor) slows more.
    ``exponent`` set: the rule is replaced by t / compute_share ** exponent (override).
    Decode-only iterations take time / bandwidth_share(compute_share)."""

    def __init__(self, base: StepModel, *, compute_share: float, hbm_share: float,
                 exponent: float | None = None, kv_reserved_tokens: int = 0) -> None:
        super().__init__(base)
        self.kv_reserved_tokens = kv_reserved_tokens
        if not 0.0 < compute_share <= 1.0 or not 0.0 < hbm_share <= 1.0:
            raise ValueError(f"shares {compute_share}, {hbm_share} outside (0, 1]")
        self.compute_share = compute_share
        self.hbm_share = hbm_share
        self.exponent = exponent

    def kv_capacity_for(self, *, memory_fraction: float, activation_tokens: int) -> int:
        """The prefill's own KV room: the chip's, less ``kv_reserved_tokens`` held for the
        executor's offloaded requests."""
        return max(self.base.kv_capacity_for(memory_fraction=memory_fraction,
                                             activation_tokens=activation_tokens)
                   - self.kv_reserved_tokens, 0)

    def slowed(self, t: float, *, tokens: int, sampled: int, decode_n: int,
               decode_ctx_sum: float, chunks) -> float:
        """Time of an iteration that takes ``t`` on the whole chip (see the class)."""
        w = self.base.work
        if self.exponent is not None or w is None:
            return t / self.compute_share ** (self.exponent or 1.0)
        scores = sum(c * (p + (c + 1) / 2.0) for c, p in chunks)
        flops, nbytes = w.totals(
            tokens=[tokens], sampled=[sampled], decode_n=[decode_n],
            decode_ctx_sum=[decode_ctx_sum], scores=[scores],
            prior_tokens=[sum(p for _, p in chunks)], new_tokens=[sum(c for c, _ in chunks)])
        tc, tm = flops / w.peak_flops, nbytes / w.hbm_bytes_per_s
        roof = min(max(tc, tm), t)
        return t - roof + max(tc / self.compute_share, tm / self.hbm_share)

    def time(self, *, tokens: int, sampled: int, decode_n: int = 0,
             decode_ctx_sum: float = 0.0, chunks=()) -> float:
        t = self.base.time(tokens=tokens, sampled=sampled, decode_n=decode_n,
                           decode_ctx_sum=decode_ctx_sum, chunks=chunks)
        if not chunks:
            return t / bandwidth_share(self.compute_share)
        return self.slowed(t, tokens=tokens, sampled=sampled, decode_n=decode_n,
                           decode_ctx_sum=decode_ctx_sum, chunks=chunks)

    def decode_times(self, n: int, ctx_sum: int, k: int) -> np.ndarray:
        return self.base.decode_times(n, ctx_sum, k) / bandwidth_share(self.compute_share)


def executor_prefill_view(base: StepModel, *, executor_share: float,
                          exponent: float | None = None, kv_reserved_tokens: int = 0
                          ) -> ExecutorSharedStep:
    """The prefill's view when an executor holds ``executor_share`` of the SMs: compute
    share 1 - executor_share; HBM share what those SMs reach less the executor's
    bandwidth_share(executor_share) (the executor is charged its bandwidth all the time)."""
    keep = 1.0 - executor_share
    hbm = min(bandwidth_share(keep), 1.0 - bandwidth_share(executor_share))
    return ExecutorSharedStep(base, compute_share=keep, hbm_share=max(hbm, 1e-9),
                              exponent=exponent, kv_reserved_tokens=kv_reserved_tokens)


class OffloadStep(StepView):
    """Adrenaline's decode instance: some of its decoding requests have their KV and
    attention on an executor with ``executor_bandwidth_share`` of the HBM bandwidth of the
    chip ``executor`` (a step model of the prefill instance). Which ones is decided per
    request at admission (``ador.serve.offload``): a view bound to an instance's ledger
    (``bind``) reads how many of the running requests are offloaded; an unbound view (the
    router's speed estimate) takes ``ratio`` of them. Per step: dense layers for the whole
    batch, then max(local attention, remote attention + transfers), where a transfer per
    layer is q/k/v out and the attention output back (``transfer_bytes`` per offloaded
    request and layer pass, over ``link_bytes_per_s`` with ``link_latency_s`` each way);
    both parts at the batch's mean context. Prefill chunks cost nothing (KV arrived by
    transfer)."""

    def __init__(self, base: StepModel, *, ratio: float, executor: StepModel,
                 executor_bandwidth_share: float, transfer_bytes: float, layers: int,
                 link_bytes_per_s: float, link_latency_s: float, ledger=None) -> None:
        super().__init__(base)
        self.ratio = ratio
        self.executor = executor
        self.executor_bandwidth_share = executor_bandwidth_share
        self.exec_factor = 1.0 / max(executor_bandwidth_share, 1e-9)
        self.transfer_bytes = transfer_bytes
        self.layers = layers
        self.link_bytes_per_s = link_bytes_per_s
        self.link_latency_s = link_latency_s
        self.ledger = ledger

    def bind(self, ledger) -> OffloadStep:
        """This view for one instance whose offloaded requests ``ledger`` counts."""
        return OffloadStep(self.base, ratio=self.ratio, executor=self.executor,
                           executor_bandwidth_share=self.executor_bandwidth_share,
                           transfer_bytes=self.transfer_bytes, layers=self.layers,
                           link_bytes_per_s=self.link_bytes_per_s,
                           link_latency_s=self.link_latency_s, ledger=ledger)

    def attention_split(self, n: int, ctx: float) -> tuple[float, float]:
        """(local, remote + transfer) seconds of one step's decode attention."""
        remote_n = (round(self.ratio * n) if self.ledger is None
                    else min(self.ledger.decoding, n))
        local_n = n - remote_n
        local = self.base._decode_attention(local_n, ctx) if local_n else 0.0
        if not remote_n:
            return local, 0.0
        remote = self.executor._decode_attention(remote_n, ctx) * self.exec_factor
        transfer = self.layers * (2 * self.link_latency_s + remote_n * self.transfer_bytes
                                  / self.link_bytes_per_s)
        return local, remote + transfer

    def time(self, *, tokens: int, sampled: int, decode_n: int = 0,
             decode_ctx_sum: float = 0.0, chunks=()) -> float:
        if not decode_n:
            return 0.0
        t = self.base.time(tokens=decode_n, sampled=decode_n)
        local, remote = self.attention_split(decode_n, decode_ctx_sum / decode_n)
        return t + max(local, remote)


class RoleStep(StepView):
    """A decode instance on a chip that also takes the prefill role (AcceLLM's dynamic
    roles): ``windows`` are the chip's prefill busy intervals (sorted, disjoint starts and
    ends in seconds). Prefill has priority: a decode iteration told (by ``at``) that it
    starts inside a window waits for its end, and one that a window starts during is
    stretched by the window. Decode iterations cost the base step model's decode time
    (prefill chunks cost nothing: the KV came from the prefill, as ``KvLoadStep``);
    ``kv_tokens_factor`` scales the KV capacity (room taken by copies). Until ``at`` is
    first called (a router's speed estimate) no window applies."""

    def __init__(self, base: StepModel, *, windows: tuple[np.ndarray, np.ndarray] = (
            np.zeros(0), np.zeros(0)), kv_tokens_factor: float = 1.0) -> None:
        super().__init__(base)
        self.starts = np.asarray(windows[0], dtype=np.float64)
        self.ends = np.asarray(windows[1], dtype=np.float64)
        self.covered = np.concatenate([[0.0], np.cumsum(self.ends - self.starts)])
        self._s, self._e = self.starts.tolist(), self.ends.tolist()
        self.kv_tokens_factor = kv_tokens_factor
        self.now: float | None = None

    def at(self, t: float) -> None:
        self.now = t

    def kv_capacity_for(self, *, memory_fraction: float, activation_tokens: int) -> int:
        return int(self.kv_tokens_factor * self.base.kv_capacity_for(
            memory_fraction=memory_fraction, activation_tokens=activation_tokens))

    def finish_after(self, t: float, work_s: float) -> float:
        """When ``work_s`` of decode work started at ``t`` ends, skipping the windows."""
        starts, ends = self._s, self._e
        i = bisect_right(ends, t)
        n = len(starts)
        if i < n and starts[i] <= t:
            t = ends[i]
            i += 1
        while i < n and starts[i] < t + work_s:
            work_s -= starts[i] - t
            t = ends[i]
            i += 1
        return t + work_s

    def _stretched(self, base_s: float) -> float:
        if self.now is None or not self.starts.size:
            return base_s
        return self.finish_after(self.now, base_s) - self.now

    def time(self, *, tokens: int, sampled: int, decode_n: int = 0,
             decode_ctx_sum: float = 0.0, chunks=()) -> float:
        if not decode_n:
            return 0.0
        return self._stretched(self.base.time(tokens=decode_n, sampled=decode_n,
                                              decode_n=decode_n,
                                              decode_ctx_sum=decode_ctx_sum))

    def decode_times(self, n: int, ctx_sum: int, k: int) -> np.ndarray:
        """k consecutive decode steps from the time ``at`` gave, each stretched as the
        engine would stretch it stepping one at a time (same float operations)."""
        dt = self.base.decode_times(n, ctx_sum, k)
        if self.now is None or not self.starts.size:
            return dt
        out = np.empty_like(dt)
        t = self.now
        for j, w in enumerate(dt.tolist()):
            out[j] = self.finish_after(t, w) - t
            t = t + out[j]
        return out

    def covered_before(self, x: np.ndarray) -> np.ndarray:
        """Seconds of prefill windows before each time in ``x``."""
        k = np.searchsorted(self.ends, x, side="right")
        part = np.zeros_like(x, dtype=np.float64)
        inside = k < self.starts.shape[0]
        ks = np.minimum(k, max(self.starts.shape[0] - 1, 0))
        if self.starts.size:
            part = np.where(inside, np.clip(x - self.starts[ks], 0.0, None), 0.0)
        return self.covered[k] + part

    def decode_busy(self, t_end: np.ndarray, busy: np.ndarray) -> np.ndarray:
        """Busy seconds of iterations ending at ``t_end`` less their time in windows."""
        return busy - (self.covered_before(t_end) - self.covered_before(t_end - busy))
