"""Iteration time of a mixed serving batch, tabulated once per design from ador's cost model.

This is the only serving module that calls the cost model. ``build_step_model`` evaluates,
in one vectorized pass per component, the per-chip operators of one forward pass:

- the token-proportional part (embedding, norms, RoPE, projections, FFN, residual adds,
  all-reduces with their GEMM overlap, pipeline sends) for T batched tokens: every integer
  T up to ``EXACT_TOKENS``, then a geometric grid (ratio ``GRID_RATIO``);
- the sampling tail (final norm, lm_head) for the rows that emit a token;
- decode attention of ``n`` requests at mean context ``c`` (one fused kernel): every
  integer n up to ``EXACT_BATCH`` then geometric, times a geometric grid of c;
- prefill attention of one chunk of ``c`` new tokens after ``p`` cached ones, evaluated
  alone (batch 1) and per request inside a full batch (``FULL_BATCH`` chunks, so that the
  matrix units are filled); a set of chunks runs as one fused kernel whose time is the
  larger of the full-batch work summed over chunks and the longest chunk alone.

Interpolation: linear in the table value along integer/geometric axes (token-proportional
and decode parts), bilinear in log(time) over (log c, log(1 + p)) for prefill attention.
Operators of a layer run one after another (their critical path is their sum); a chip's
layers repeat ``pp`` times per iteration as in ador's static-batch evaluator (no
micro-batch pipelining). Heterogeneous decode contexts are represented by their mean:
exact for the KV bytes read (linear in the summed context), approximate only for the
tile quantisation of the attention matrix products.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, replace

import numpy as np

from ador.evaluate.engine import LAYER_OPS_EXCLUDED, PRODUCERS
from ador.model.design import DesignArrays
from ador.model.interconnect import p2p_send_time
from ador.model.memory import footprint
from ador.model.opcost import op_cost, overlap_collective
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.precision import RATE_VS_FP16
from ador.spec.scenario import Scenario
from ador.workload.operators import OpClass, Operator
from ador.workload.transformer import decode_ops, prefill_attention, prefill_ops, shard

EXACT_TOKENS = 8192
EXACT_BATCH = 64
GRID_RATIO = 1.004  # geometric spacing above the exact token range (0.4 %)
BATCH_RATIO = 1.03  # decode batch above EXACT_BATCH
CTX_STEP = 64  # decode context grid: both sides of every multiple of this
CHUNK_RATIO = 1.1  # prefill chunk tokens
PRIOR_RATIO = 1.06  # prefill prior context
FULL_BATCH = 64
TAIL_NAMES = ("final_norm", "lm_head")


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
        if tokens <= axis.exact:  # integer token counts: an exact table entry
            t = self.dense_s[tokens - 1]
        else:
            t = axis.lookup(self.dense_s, tokens)
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
        pts = self.ctx_array
        j = np.minimum(np.searchsorted(pts, ctx, side="right") - 1, len(pts) - 2)
        lo_c = pts[j]
        wj = (ctx - lo_c) / (pts[j + 1] - lo_c)
        row = self.decode_attn_array[i]
        lo = row[j] + wj * (row[j + 1] - row[j])
        if wi != 0.0:
            row = self.decode_attn_array[i + 1]
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


def _context_points(top: int) -> np.ndarray:
    """Decode contexts: every integer to ``CTX_STEP``, then both sides of every multiple of
    ``CTX_STEP`` (k x step and k x step + 1), where the tile quantisation of the
    attention products (ceil(context / tile), tiles dividing the step) jumps, so that linear
    interpolation between points never crosses a jump."""
    k = np.arange(1, -(-top // CTX_STEP) + 1) * CTX_STEP
    return np.unique(np.concatenate([np.arange(1, CTX_STEP + 1), k, k + 1])).astype(np.float64)


def _scale(op: Operator, rows) -> Operator:
    """The operator with every token-proportional size multiplied by ``rows``.

    Weight GEMMs, norms, adds and collectives grow with the activation rows (matrix M);
    attention grows with the number of independent (request, head) products (groups).
    """
    if op.op_class is OpClass.ATTENTION:
        mms = tuple(replace(mm, groups=mm.groups * rows) for mm in op.matmuls)
    else:
        mms = tuple(replace(mm, m=mm.m * rows) for mm in op.matmuls)
    return replace(op, matmuls=mms, act_in_bytes=op.act_in_bytes * rows,
                   act_out_bytes=op.act_out_bytes * rows, kv_read_bytes=op.kv_read_bytes * rows,
                   kv_write_bytes=op.kv_write_bytes * rows, vector_ops=op.vector_ops * rows,
                   special_ops=op.special_ops * rows, comm_bytes=op.comm_bytes * rows)


def _pass_times(*, d: DesignArrays, ops: list[Operator], rate, scenario: Scenario,
                work: dict | None = None) -> dict[str, np.ndarray]:
    """Seconds per pass of each operator (repeats included), collectives overlapped with
    their producing GEMM exactly as in ador's evaluator. ``work``, when given, receives the
    pass's matrix FLOPs and HBM bytes ("flops", "bytes")."""
    costs = {op.name: op_cost(d=d, op=op, rate=rate, tp=scenario.tp) for op in ops}
    out = {}
    for op in ops:
        if work is not None:
            reps = op.repeat * (scenario.pp if op.name not in LAYER_OPS_EXCLUDED else 1)
            work["flops"] = work.get("flops", 0.0) + np.asarray(op.matrix_flops) * reps
            work["bytes"] = work.get("bytes", 0.0) + np.asarray(
                costs[op.name].hbm_bytes)[0] * reps
        t = costs[op.name].time
        if op.name in PRODUCERS and PRODUCERS[op.name] in costs:
            c = costs[op.name]
            t = overlap_collective(d=d, producer=costs[PRODUCERS[op.name]].time,
                                   collective=c.comm) + (t - c.comm)
        reps = op.repeat * (scenario.pp if op.name not in LAYER_OPS_EXCLUDED else 1)
        out[op.name] = np.asarray(t)[0] * reps
    return out


def build_step_model(*, hardware: HardwareSpec, model: ModelSpec, tp: int = 1, pp: int = 1,
                     precision: str = "fp16", max_tokens: int = 32768,
                     max_batch: int = 4096, memory_fraction: float = 0.9,
                     activation_tokens: int = 2048) -> StepModel:
    """Tabulate iteration times of ``model`` on ``hardware`` at TP x PP in one pass.

    ``max_tokens``/``max_batch`` bound the tables (batched tokens, decoding requests);
    ``activation_tokens`` sizes the activation reserve (peak prefill working set of that
    many tokens) subtracted from HBM before the KV cache.
    """
    d = DesignArrays.from_specs([hardware])
    scen = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=2, tp=tp,
                            pp=pp)
    rate = np.full((1, 1), RATE_VS_FP16[scen.compute_precision])
    max_ctx = int(model.max_context)

    tokens_axis = GeoAxis(exact=min(EXACT_TOKENS, max_tokens), top=max_tokens, ratio=GRID_RATIO)
    T = tokens_axis.points
    one = [op for op in prefill_ops(model, scen) if op.op_class is not OpClass.ATTENTION]
    body = [_scale(op, T) for op in one if op.name not in TAIL_NAMES]
    tail = [_scale(op, T) for op in one if op.name in TAIL_NAMES]
    dense_work: dict = {}
    tail_work: dict = {}
    body_t = _pass_times(d=d, ops=body, rate=rate, scenario=scen, work=dense_work)
    dense = sum(body_t.values()) + np.zeros_like(T)
    if pp > 1:
        size = T * model.hidden * scen.activation_precision.bytes
        dense = dense + (pp - 1) * np.asarray(p2p_send_time(d=d, size_bytes=size))[0]
    tail_s = sum(_pass_times(d=d, ops=tail, rate=rate, scenario=scen, work=tail_work).values())

    batch_axis = GeoAxis(exact=min(EXACT_BATCH, max_batch), top=max_batch, ratio=BATCH_RATIO)
    ctx = _context_points(2 * max_ctx)
    bb, cc = np.meshgrid(batch_axis.points, ctx, indexing="ij")
    dec = [op for op in decode_ops(model, scen, cc.ravel()) if op.op_class is OpClass.ATTENTION]
    dec_work: dict = {}
    dec_t = _pass_times(d=d, ops=[_scale(dec[0], bb.ravel())], rate=rate, scenario=scen,
                        work=dec_work)
    decode_attn = dec_t["attention"].reshape(bb.shape)

    s = shard(model, scen)
    chunk = np.unique(np.round(CHUNK_RATIO ** np.arange(
        0, math.ceil(math.log(max_tokens) / math.log(CHUNK_RATIO)) + 2)))
    prior = np.concatenate([[0.0], np.unique(np.round(PRIOR_RATIO ** np.arange(
        0, math.ceil(math.log(max_ctx * 2) / math.log(PRIOR_RATIO)) + 2)))])
    ch, pr = np.meshgrid(chunk, prior, indexing="ij")
    overhead = float(d.kernel_overhead_s[0])
    logs = []
    for batch in (FULL_BATCH, 1):
        op = prefill_attention(s, batch=batch, seq=ch.ravel(), prior=pr.ravel())
        t = _pass_times(d=d, ops=[op], rate=rate, scenario=scen)["attention"]
        per_layer = t / (op.repeat * pp) - overhead
        logs.append(np.log(np.maximum(per_layer / batch, 1e-30)).reshape(ch.shape))
    reps = s.layers * pp
    # prefill attention work: FLOPs per query-key score, HBM bytes per new and prior token
    probe = [prefill_attention(s, batch=1, seq=1.0, prior=float(p)) for p in (0, 1)]
    probe_work = [{}, {}]
    for op, w in zip(probe, probe_work):
        _pass_times(d=d, ops=[op], rate=rate, scenario=scen, work=w)
    per_prior = float(np.ravel(probe_work[1]["bytes"] - probe_work[0]["bytes"])[0])
    n_dec = len(ctx)

    fp = footprint(model, Scenario.uniform(precision=precision, batch=1,
                                           input_len=activation_tokens, output_len=1,
                                           tp=tp, pp=pp))
    kv_tok = fp.kv_cache / (activation_tokens + 1)
    hbm = float(d.hbm_bytes[0])
    free = memory_fraction * (hbm - fp.weights - fp.activations)
    kv_capacity = int(max(free, 0.0) // kv_tok) if kv_tok > 0 else 0
    kv_all = 2 * model.layers * max(1, model.kv_heads // tp) * tp * model.head_dim \
        * scen.kv_precision.bytes
    weights_total = fp.weights * tp * pp
    return StepModel(
        hardware_name=hardware.name, tp=tp, pp=pp, tokens_axis=tokens_axis,
        dense_s=dense.tolist(), tail_s=np.broadcast_to(tail_s, T.shape).tolist(),
        batch_axis=batch_axis, ctx_points=ctx.tolist(), decode_attn_s=decode_attn.tolist(),
        ctx_array=ctx, decode_attn_array=np.ascontiguousarray(decode_attn),
        chunk_points=np.log(chunk).tolist(), prior_points=np.log1p(prior).tolist(),
        prefill_single_log=logs[1].tolist(), prefill_full_log=logs[0].tolist(),
        attn_overhead_s=overhead * reps, attn_reps=reps,
        kv_capacity_tokens=kv_capacity, kv_bytes_per_token=float(kv_tok),
        weight_bytes_per_chip=float(fp.weights), activation_reserve_bytes=float(fp.activations),
        activation_bytes_per_token=float(fp.activations) / activation_tokens,
        hbm_bytes_per_chip=hbm, chips=tp * pp, kv_bytes_per_token_all=float(kv_all),
        weight_bytes_total=float(weights_total), max_context=max_ctx,
        work=WorkTables(
            tokens=T, dense_flops=np.broadcast_to(dense_work["flops"], T.shape) * 1.0,
            dense_bytes=np.broadcast_to(dense_work["bytes"], T.shape) * 1.0,
            tail_flops=np.broadcast_to(tail_work["flops"], T.shape) * 1.0,
            tail_bytes=np.broadcast_to(tail_work["bytes"], T.shape) * 1.0,
            ctx=ctx, decode_flops=np.asarray(dec_work["flops"]).reshape(bb.shape)[0][:n_dec],
            decode_bytes=np.asarray(dec_work["bytes"]).reshape(bb.shape)[0][:n_dec],
            flops_per_score=float(np.ravel(probe_work[0]["flops"])[0]) / (s.layers * pp),
            bytes_per_new_token=float(np.ravel(probe_work[0]["bytes"])[0]),
            bytes_per_prior_token=per_prior, reps=reps,
            peak_flops=float(RATE_VS_FP16[scen.compute_precision] * 2.0 * (
                d.sa_count * d.sa_rows * d.sa_cols + d.mt_count * d.mt_lanes
                * d.mt_tree_width)[0] * d.clock_hz[0]),
            hbm_bytes_per_s=float(d.hbm_bw[0])),
    )


def direct_step_time(*, hardware: HardwareSpec, model: ModelSpec, tp: int = 1, pp: int = 1,
                     precision: str = "fp16", decode_contexts=(), chunks=()) -> float:
    """One iteration evaluated operator by operator with ador's cost model (no tables):
    the reference the tabulated ``StepModel.time`` is tested against. Same composition:
    token-proportional operators at the batch's tokens, the sampling tail for decodes and
    completing prompts (all chunks here are taken as completing), decode attention at the
    mean context, prefill attention fused over chunks."""
    d = DesignArrays.from_specs([hardware])
    scen = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=2, tp=tp,
                            pp=pp)
    rate = np.full((1, 1), RATE_VS_FP16[scen.compute_precision])
    nd = len(decode_contexts)
    tokens = nd + sum(c for c, _ in chunks)
    one = [op for op in prefill_ops(model, scen) if op.op_class is not OpClass.ATTENTION]
    body = [_scale(op, float(tokens)) for op in one if op.name not in TAIL_NAMES]
    tail = [_scale(op, float(nd + len(chunks))) for op in one if op.name in TAIL_NAMES]
    total = float(np.ravel(sum(_pass_times(d=d, ops=body, rate=rate, scenario=scen).values()))[0])
    total += float(np.ravel(sum(_pass_times(d=d, ops=tail, rate=rate,
                                            scenario=scen).values()))[0])
    if pp > 1:
        size = tokens * model.hidden * scen.activation_precision.bytes
        total += (pp - 1) * float(np.asarray(p2p_send_time(d=d, size_bytes=size))[0, 0])
    if nd:
        ctx = float(np.mean(decode_contexts))
        dec = [op for op in decode_ops(model, scen, np.array([ctx]))
               if op.op_class is OpClass.ATTENTION][0]
        total += float(np.ravel(_pass_times(d=d, ops=[_scale(dec, float(nd))], rate=rate,
                                            scenario=scen)["attention"])[0])
    if chunks:
        s = shard(model, scen)
        overhead = float(d.kernel_overhead_s[0])
        full = single = 0.0
        for c, p in chunks:
            per = []
            for batch in (FULL_BATCH, 1):
                op = prefill_attention(s, batch=batch, seq=float(c), prior=float(p))
                t = float(np.ravel(_pass_times(d=d, ops=[op], rate=rate,
                                               scenario=scen)["attention"])[0])
                per.append((t / (op.repeat * pp) - overhead) / batch)
            full += per[0]
            single = max(single, per[1])
        total += (max(full, single) + overhead) * s.layers * pp
    return total
