"""The step-time model's tables and their interpolation (no cost-model calls here).

``ador.serve.steptime.build_step_model`` fills a ``StepModel`` from ador's cost model; the
event loop then asks it for iteration times in pure Python (a few microseconds each).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np


class GeoAxis:
    """Grid of every integer 1..exact, then geometric points up to ``top``.

    ``locate(x)`` gives (index, weight) for linear interpolation, in pure Python so the
    event loop can call it per iteration without numpy overhead.
    """

    def __init__(self, *, exact: int, top: float, ratio: float) -> None:
        self.exact = int(exact)
        self.ratio = ratio
        self.log_ratio = math.log(ratio)
        extra = max(0, math.ceil(math.log(max(top, exact) / exact) / self.log_ratio) + 1)
        geo = exact * ratio ** np.arange(1, extra + 1)
        self.points = np.concatenate([np.arange(1, exact + 1, dtype=np.float64), geo])
        self.top = float(self.points[-1])
        self.plist = self.points.tolist()

    def locate(self, x: float) -> tuple[int, float]:
        if x <= self.exact:
            i = int(x)
            if i == x:
                return i - 1, 0.0
            i = max(i, 1)
            return i - 1, x - i
        if x > self.top:
            raise ValueError(f"{x} is beyond the step model's grid ({self.top:.0f})")
        pos = math.log(x / self.exact) / self.log_ratio
        k = int(pos)
        j = self.exact - 1 + k
        lo = self.plist[j]
        hi = self.plist[j + 1]
        return j, (x - lo) / (hi - lo)

    def lookup(self, table, x: float) -> float:
        i, w = self.locate(x)
        if w == 0.0:
            return table[i]
        return table[i] + w * (table[i + 1] - table[i])


@dataclass(frozen=True)
class WorkTables:
    """Matrix FLOPs and HBM bytes of an iteration's parts, per chip, for utilisation.

    Token-proportional part and sampling tail on the token grid; decode attention of one request by
    context (times the number of decodes, at their mean context); prefill attention from
    its query-key scores and the new and prior tokens it reads and writes.
    """

    tokens: np.ndarray
    dense_flops: np.ndarray
    dense_bytes: np.ndarray
    tail_flops: np.ndarray
    tail_bytes: np.ndarray
    ctx: np.ndarray
    decode_flops: np.ndarray
    decode_bytes: np.ndarray
    flops_per_score: float  # per layer-pass, times reps
    bytes_per_new_token: float
    bytes_per_prior_token: float
    reps: int
    peak_flops: float  # matrix units, per chip, at the compute precision
    hbm_bytes_per_s: float

    def totals(self, *, tokens, sampled, decode_n, decode_ctx_sum, scores, prior_tokens,
               new_tokens) -> tuple[float, float]:
        """Summed FLOPs and bytes over iterations given as arrays."""
        tokens = np.asarray(tokens, dtype=np.float64)
        n = np.asarray(decode_n, dtype=np.float64)
        mean_ctx = np.asarray(decode_ctx_sum, dtype=np.float64) / np.maximum(n, 1)
        sampled = np.asarray(sampled, dtype=np.float64)
        flops = (np.interp(tokens, self.tokens, self.dense_flops)
                 + np.interp(sampled, self.tokens, self.tail_flops) * (sampled > 0)
                 + n * np.interp(mean_ctx, self.ctx, self.decode_flops)
                 + np.asarray(scores) * self.flops_per_score * self.reps)
        hbm = (np.interp(tokens, self.tokens, self.dense_bytes)
               + np.interp(sampled, self.tokens, self.tail_bytes) * (sampled > 0)
               + n * np.interp(mean_ctx, self.ctx, self.decode_bytes)
               + np.asarray(new_tokens) * self.bytes_per_new_token
               + np.asarray(prior_tokens) * self.bytes_per_prior_token)
        return float(np.sum(flops)), float(np.sum(hbm))


@dataclass(frozen=True)
class StepModel:
    """Iteration time of a mixed batch on one serving instance (seconds), and its memory."""

    hardware_name: str
    tp: int
    pp: int
    tokens_axis: GeoAxis
    dense_s: list  # per-token-count time of token-proportional operators (+ pipeline sends)
    tail_s: list  # final norm + lm_head, by rows that emit a token
    batch_axis: GeoAxis
    ctx_points: list
    decode_attn_s: list  # [batch point][ctx point], whole pass, one fused kernel
    chunk_points: list  # log chunk tokens
    prior_points: list  # log(1 + prior tokens)
    prefill_single_log: list  # log seconds per layer-pass without overhead, batch 1
    prefill_full_log: list  # per chunk inside a full batch
    attn_overhead_s: float  # one fused attention kernel's fixed time, whole pass
    attn_reps: int
    kv_capacity_tokens: int  # whole instance (pipeline stages hold disjoint layers)
    kv_bytes_per_token: float  # per chip
    weight_bytes_per_chip: float
    activation_reserve_bytes: float
    activation_bytes_per_token: float  # per chip, peak prefill working set per token
    hbm_bytes_per_chip: float
    chips: int
    kv_bytes_per_token_all: float  # whole model, >= 1 KV head per chip (trtllm-bench rule)
    weight_bytes_total: float
    max_context: int
    work: WorkTables | None = None
    precision: str = "fp16"
    ctx_array: np.ndarray | None = None  # ctx_points as an array (bulk decode steps)
    decode_attn_array: np.ndarray | None = None

    def kv_capacity_for(self, *, memory_fraction: float, activation_tokens: int) -> int:
        """KV tokens the instance holds: memory_fraction x (HBM per chip - weights per chip
        - activation reserve for ``activation_tokens`` tokens), over KV bytes per token
        per chip (every chip of a TP group holds its heads' share of every token)."""
        free = memory_fraction * (self.hbm_bytes_per_chip - self.weight_bytes_per_chip
                                  - activation_tokens * self.activation_bytes_per_token)
        return int(max(free, 0.0) // self.kv_bytes_per_token)

    @property
    def max_tokens(self) -> float:
        return self.tokens_axis.top

    # -- time ---------------------------------------------------------------------------
    def time(self, *, tokens: int, sampled: int, decode_n: int = 0, decode_ctx_sum: float = 0.0,
             chunks: list[tuple[int, int]] | tuple = ()) -> float:
        """Seconds of one iteration: ``tokens`` batched tokens (decodes + prefill chunk
        tokens), ``sampled`` rows through the lm_head, ``decode_n`` decoding requests
        with ``decode_ctx_sum`` context tokens in all, prefill ``chunks`` as (new tokens,
        prior cached tokens)."""
        axis = self.tokens_axis
        # integer token counts up to axis.exact: an exact table entry
        t = (self.dense_s[tokens - 1] if tokens <= axis.exact
             else axis.lookup(self.dense_s, tokens))
        if sampled:
            t += self.tail_s[sampled - 1] if sampled <= axis.exact else axis.lookup(
                self.tail_s, sampled)
        if decode_n:
            t += self._decode_attention(decode_n, decode_ctx_sum / decode_n)
        if chunks:
            t += self.prefill_attention(chunks)
        return t

    def _decode_attention(self, n: int, ctx: float) -> float:
        i, wi = self.batch_axis.locate(n)
        pts = self.ctx_points
        j = bisect_right(pts, ctx) - 1
        if j >= len(pts) - 1:
            j = len(pts) - 2
        lo_c = pts[j]
        wj = (ctx - lo_c) / (pts[j + 1] - lo_c)
        row = self.decode_attn_s[i]
        lo = row[j] + wj * (row[j + 1] - row[j])
        if wi == 0.0:
            return lo
        row = self.decode_attn_s[i + 1]
        return lo + wi * (row[j] + wj * (row[j + 1] - row[j]) - lo)

    def decode_times(self, n: int, ctx_sum: int, k: int) -> np.ndarray:
        """Seconds of ``k`` consecutive decode-only iterations of ``n`` requests whose
        contexts sum to ``ctx_sum`` at the first (each step adds one token to each): the
        same arithmetic as ``time``, element by element, so results are bit-identical."""
        base = self.dense_s[n - 1] + self.tail_s[n - 1]
        ctx = (ctx_sum + np.arange(k, dtype=np.int64) * n) / n
        i, wi = self.batch_axis.locate(n)
        pts, table = self.ctx_array, self.decode_attn_array
        if pts is None or table is None:
            raise ValueError("the step model has no decode attention arrays")
        j = np.minimum(np.searchsorted(pts, ctx, side="right") - 1, len(pts) - 2)
        lo_c = pts[j]
        wj = (ctx - lo_c) / (pts[j + 1] - lo_c)
        row = table[i]
        lo = row[j] + wj * (row[j + 1] - row[j])
        if wi != 0.0:
            row = table[i + 1]
            lo = lo + wi * (row[j] + wj * (row[j + 1] - row[j]) - lo)
        return base + lo

    def prefill_attention(self, chunks) -> float:
        full = 0.0
        single = 0.0
        for c, p in chunks:
            f, s = self._chunk(c, p)
            full += f
            single = max(single, s)
        return (max(full, single) + self.attn_overhead_s) if chunks else 0.0

    def _chunk(self, c: float, p: float) -> tuple[float, float]:
        i, wi = _locate_sorted(self.chunk_points, math.log(c))
        j, wj = _locate_sorted(self.prior_points, math.log1p(p))
        out = []
        for tab in (self.prefill_full_log, self.prefill_single_log):
            r0, r1 = tab[i], tab[i + 1]
            a = r0[j] + wj * (r0[j + 1] - r0[j])
            b = r1[j] + wj * (r1[j + 1] - r1[j])
            out.append(math.exp(a + wi * (b - a)) * self.attn_reps)
        return out[0], out[1]


def _locate_sorted(points: list, x: float) -> tuple[int, float]:
    j = bisect_right(points, x) - 1
    j = min(max(j, 0), len(points) - 2)
    w = (x - points[j]) / (points[j + 1] - points[j])
    return j, min(max(w, 0.0), 1.0)
