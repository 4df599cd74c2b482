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

Measured error against direct operator-by-operator evaluation (``direct_step_time``) and
ador's static-batch evaluator (``scripts/check_step_model.py``, llama3-8b, all templates):
mixed iterations mean 0.01-0.2 %, max 1.9 %; pure prefill max 0.8 %; pure decode max
2.5 % (H100/H200: the wave quantisation of decode attention over the SMs is a staircase in
batch and context that the grid interpolates across; mean 0.4 %). Tests bound it at 2 %
on their cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ador.model.design import DesignArrays
from ador.model.interconnect import p2p_send_time
from ador.model.memory import footprint
from ador.model.opcost import op_cost, overlap_collective
from ador.serve.stepmodel import GeoAxis, StepModel, WorkTables
from ador.spec.hardware import HardwareSpec
from ador.spec.model import ModelSpec
from ador.spec.precision import RATE_VS_FP16, Precision
from ador.spec.scenario import Scenario
from ador.workload.operators import OpClass, Operator
from ador.workload.transformer import decode_ops, prefill_attention, prefill_ops, shard

EXACT_TOKENS = 8192
EXACT_BATCH = 64
GRID_RATIO = 1.004  # geometric spacing above the exact token range (0.4 %)
BATCH_RATIO = 1.03  # decode batch above EXACT_BATCH
CTX_STEP = 64  # decode context grid: both sides of every multiple of this ...
CTX_ALIGNED = 16384  # ... up to this context, then geometric
CTX_RATIO = 1.01
CHUNK_RATIO = 1.1  # prefill chunk tokens
PRIOR_RATIO = 1.06  # prefill prior context
FULL_BATCH = 64


def _context_points(top: int) -> np.ndarray:
    """Decode contexts: every integer to ``CTX_STEP``, then both sides of every multiple of
    ``CTX_STEP`` (k x step and k x step + 1) up to ``CTX_ALIGNED``, where the tile
    quantisation of the attention products (ceil(context / tile), tiles dividing the step)
    jumps, so that linear interpolation never crosses a jump; beyond, a geometric grid
    (``CTX_RATIO``), where one tile is a small share of the context."""
    aligned = min(top, CTX_ALIGNED)
    k = np.arange(1, -(-aligned // CTX_STEP) + 1) * CTX_STEP
    pts = [np.arange(1, CTX_STEP + 1), k, k + 1]
    if top > aligned:
        n = math.ceil(math.log(top / aligned) / math.log(CTX_RATIO)) + 1
        pts.append(np.round(aligned * CTX_RATIO ** np.arange(1, n + 1)))
    return np.unique(np.concatenate(pts)).astype(np.float64)


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


def pass_times_all(*, d: DesignArrays, ops: list[Operator], rate, scenario: Scenario,
                   work: dict | None = None) -> dict[str, np.ndarray]:
    """Seconds per pass of each operator (repeats included) on every design (rows) at
    each of the operator's sizes (columns), collectives overlapped with their producing
    GEMM exactly as in ador's evaluator. ``work``, when given, receives the pass's matrix
    FLOPs and HBM bytes ("flops", "bytes"; bytes per design row)."""
    costs = {op.name: op_cost(d=d, op=op, rate=rate, tp=scenario.tp) for op in ops}
    out = {}
    for op in ops:
        reps = op.repeat * (scenario.pp if op.per_layer else 1)
        if work is not None:
            work["flops"] = work.get("flops", 0.0) + np.asarray(op.matrix_flops) * reps
            work["bytes"] = work.get("bytes", 0.0) + np.asarray(
                costs[op.name].hbm_bytes) * reps
        t = costs[op.name].time
        if op.producer is not None and op.producer in costs:
            c = costs[op.name]
            t = overlap_collective(d=d, producer=costs[op.producer].time,
                                   collective=c.comm) + (t - c.comm)
        out[op.name] = np.asarray(t) * reps
    return out


def _pass_times(*, d: DesignArrays, ops: list[Operator], rate, scenario: Scenario,
                work: dict | None = None) -> dict[str, np.ndarray]:
    """``pass_times_all`` of the first design (row 0)."""
    full: dict | None = {} if work is not None else None
    out = {k: v[0] for k, v in pass_times_all(d=d, ops=ops, rate=rate, scenario=scenario,
                                              work=full).items()}
    if work is not None and full:
        work["flops"] = work.get("flops", 0.0) + full["flops"]
        work["bytes"] = work.get("bytes", 0.0) + np.asarray(full["bytes"])[0]
    return out


@dataclass(frozen=True)
class _Setup:
    """What every table builder needs: the design, the model and the parallel layout."""

    d: DesignArrays
    model: ModelSpec
    scen: Scenario
    rate: np.ndarray

    @property
    def pp(self) -> int:
        return self.scen.pp


def _token_tables(u: _Setup, T: np.ndarray) -> dict:
    """Token-proportional operators (and pipeline sends) at T tokens; sampling tail at T
    rows; their work."""
    one = [op for op in prefill_ops(u.model, u.scen) if op.op_class is not OpClass.ATTENTION]
    dense_work: dict = {}
    tail_work: dict = {}
    body = _pass_times(d=u.d, ops=[_scale(op, T) for op in one if not op.last_token],
                       rate=u.rate, scenario=u.scen, work=dense_work)
    dense = sum(body.values()) + np.zeros_like(T)
    if u.pp > 1:
        size = T * u.model.hidden * u.scen.activation_precision.bytes
        dense = dense + (u.pp - 1) * np.asarray(p2p_send_time(d=u.d, size_bytes=size))[0]
    tail = _pass_times(d=u.d, ops=[_scale(op, T) for op in one if op.last_token],
                       rate=u.rate, scenario=u.scen, work=tail_work)
    tail_s = sum(tail.values()) + np.zeros_like(T)

    def full(a) -> np.ndarray:
        return np.broadcast_to(a, T.shape) * 1.0

    return {"dense": dense, "tail": tail_s, "dense_flops": full(dense_work["flops"]),
            "dense_bytes": full(dense_work["bytes"]), "tail_flops": full(tail_work["flops"]),
            "tail_bytes": full(tail_work["bytes"])}


def _decode_table(u: _Setup, batch: np.ndarray, ctx: np.ndarray) -> dict:
    """Decode attention (one fused kernel per layer) on the (batch x context) grid."""
    bb, cc = np.meshgrid(batch, ctx, indexing="ij")
    dec = next(op for op in decode_ops(u.model, u.scen, cc.ravel())
           if op.op_class is OpClass.ATTENTION)
    work: dict = {}
    t = _pass_times(d=u.d, ops=[_scale(dec, bb.ravel())], rate=u.rate, scenario=u.scen,
                    work=work)["attention"].reshape(bb.shape)
    # the first row is one request (the batch axis starts at 1): work per request
    return {"time": t, "flops": np.asarray(work["flops"]).reshape(bb.shape)[0],
            "bytes": np.asarray(work["bytes"]).reshape(bb.shape)[0]}


def _prefill_tables(u: _Setup, chunk: np.ndarray, prior: np.ndarray) -> dict:
    """Per-chunk prefill attention (log seconds per layer, overhead excluded) alone and in
    a full batch, on the (chunk x prior) grid, and the work constants of prefill attention:
    FLOPs per query-key score, HBM bytes per new and per prior token."""
    s = shard(u.model, u.scen)
    ch, pr = np.meshgrid(chunk, prior, indexing="ij")
    overhead = float(u.d.kernel_overhead_s[0])
    logs = {}
    for batch in (FULL_BATCH, 1):
        op = prefill_attention(s, batch=batch, seq=ch.ravel(), prior=pr.ravel())
        t = _pass_times(d=u.d, ops=[op], rate=u.rate, scenario=u.scen)["attention"]
        per_layer = t / (op.repeat * u.pp) - overhead
        logs[batch] = np.log(np.maximum(per_layer / batch, 1e-30)).reshape(ch.shape)
    probe: list[dict] = [{}, {}]
    for p, w in zip((0.0, 1.0), probe, strict=True):
        _pass_times(d=u.d, ops=[prefill_attention(s, batch=1, seq=1.0, prior=p)], rate=u.rate,
                    scenario=u.scen, work=w)
    reps = s.layers * u.pp
    return {"full": logs[FULL_BATCH], "single": logs[1], "overhead": overhead, "reps": reps,
            "flops_per_score": float(np.ravel(probe[0]["flops"])[0]) / reps,
            "bytes_new": float(np.ravel(probe[0]["bytes"])[0]),
            "bytes_prior": float(np.ravel(probe[1]["bytes"] - probe[0]["bytes"])[0])}


def memory_terms(*, model: ModelSpec, scenario: Scenario, activation_tokens: int) -> dict:
    """Design-independent memory terms per chip from ador's footprint: weights, KV bytes
    per token, activation reserve for ``activation_tokens`` tokens (and per token)."""
    m, tp, pp = model, scenario.tp, scenario.pp
    fp = footprint(m, Scenario.uniform(precision=scenario.kv_precision, batch=1,
                                       input_len=activation_tokens, output_len=1, tp=tp,
                                       pp=pp))
    kv_tok = fp.kv_cache / (activation_tokens + 1)
    kv_all = 2 * m.layers * max(1, m.kv_heads // tp) * tp * m.head_dim \
        * scenario.kv_precision.bytes
    return {"kv_bytes_per_token": float(kv_tok), "weight_bytes_per_chip": float(fp.weights),
            "activation_reserve_bytes": float(fp.activations),
            "activation_bytes_per_token": float(fp.activations) / activation_tokens,
            "kv_bytes_per_token_all": float(kv_all),
            "weight_bytes_total": float(fp.weights * tp * pp)}


def kv_capacity(*, hbm_bytes_per_chip, terms: dict, memory_fraction, activation_tokens
                ) -> np.ndarray:
    """KV tokens per instance for arrays of designs, by ``StepModel.kv_capacity_for``'s
    rule: memory_fraction x (HBM - weights - activation reserve) per chip, over KV bytes
    per token per chip, rounded down."""
    free = np.asarray(memory_fraction) * (
        np.asarray(hbm_bytes_per_chip, dtype=np.float64) - terms["weight_bytes_per_chip"]
        - np.asarray(activation_tokens) * terms["activation_bytes_per_token"])
    return np.floor_divide(np.maximum(free, 0.0), terms["kv_bytes_per_token"])


def _memory(u: _Setup, *, activation_tokens: int, memory_fraction: float) -> dict:
    """Weights, KV bytes per token and activation reserve per chip, from ador's footprint."""
    terms = memory_terms(model=u.model, scenario=u.scen, activation_tokens=activation_tokens)
    hbm = float(u.d.hbm_bytes[0])
    free = memory_fraction * (hbm - terms["weight_bytes_per_chip"]
                              - terms["activation_reserve_bytes"])
    return {"kv_capacity_tokens": int(max(free, 0.0) // terms["kv_bytes_per_token"]),
            "hbm_bytes_per_chip": hbm, **terms}


def _peak_flops(u: _Setup) -> float:
    d = u.d
    lanes = d.sa_count * d.sa_rows * d.sa_cols + d.mt_count * d.mt_lanes * d.mt_tree_width
    return float(RATE_VS_FP16[u.scen.compute_precision] * 2.0 * lanes[0] * d.clock_hz[0])


def _geometric(ratio: float, top: float) -> np.ndarray:
    """Rounded powers of ``ratio`` from 1 past ``top`` (duplicates removed)."""
    k = math.ceil(math.log(top) / math.log(ratio)) + 2
    return np.unique(np.round(ratio ** np.arange(0, k)))


def build_step_model(*, hardware: HardwareSpec, model: ModelSpec, tp: int = 1, pp: int = 1,
                     precision: str = "fp16", max_tokens: int = 32768,
                     max_batch: int = 4096, memory_fraction: float = 0.9,
                     activation_tokens: int = 2048) -> StepModel:
    """Tabulate iteration times of ``model`` on ``hardware`` at TP x PP in one pass.

    ``max_tokens``/``max_batch`` bound the tables (batched tokens, decoding requests);
    ``activation_tokens`` sizes the activation reserve (peak prefill working set of that
    many tokens) subtracted from HBM before the KV cache.
    """
    scen = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=2, tp=tp,
                            pp=pp)
    u = _Setup(d=DesignArrays.from_specs([hardware]), model=model, scen=scen,
               rate=np.full((1, 1), RATE_VS_FP16[scen.compute_precision]))
    max_ctx = int(model.max_context)
    tokens_axis = GeoAxis(exact=min(EXACT_TOKENS, max_tokens), top=max_tokens, ratio=GRID_RATIO)
    T = tokens_axis.points
    tok = _token_tables(u, T)
    batch_axis = GeoAxis(exact=min(EXACT_BATCH, max_batch), top=max_batch, ratio=BATCH_RATIO)
    ctx = _context_points(2 * max_ctx)
    dec = _decode_table(u, batch_axis.points, ctx)
    chunk = _geometric(CHUNK_RATIO, max_tokens)
    prior = np.concatenate([[0.0], _geometric(PRIOR_RATIO, 2 * max_ctx)])
    pre = _prefill_tables(u, chunk, prior)
    mem = _memory(u, activation_tokens=activation_tokens, memory_fraction=memory_fraction)
    return StepModel(
        hardware_name=hardware.name, tp=tp, pp=pp, precision=Precision(precision).value,
        tokens_axis=tokens_axis, dense_s=tok["dense"].tolist(), tail_s=tok["tail"].tolist(),
        batch_axis=batch_axis, ctx_points=ctx.tolist(), decode_attn_s=dec["time"].tolist(),
        ctx_array=ctx, decode_attn_array=np.ascontiguousarray(dec["time"]),
        chunk_points=np.log(chunk).tolist(), prior_points=np.log1p(prior).tolist(),
        prefill_single_log=pre["single"].tolist(), prefill_full_log=pre["full"].tolist(),
        attn_overhead_s=pre["overhead"] * pre["reps"], attn_reps=pre["reps"],
        chips=tp * pp, max_context=max_ctx, **mem,
        work=WorkTables(
            tokens=T, dense_flops=tok["dense_flops"], dense_bytes=tok["dense_bytes"],
            tail_flops=tok["tail_flops"], tail_bytes=tok["tail_bytes"], ctx=ctx,
            decode_flops=dec["flops"], decode_bytes=dec["bytes"],
            flops_per_score=pre["flops_per_score"], bytes_per_new_token=pre["bytes_new"],
            bytes_per_prior_token=pre["bytes_prior"], reps=pre["reps"],
            peak_flops=_peak_flops(u), hbm_bytes_per_s=float(u.d.hbm_bw[0])),
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
    body = [_scale(op, float(tokens)) for op in one if not op.last_token]
    tail = [_scale(op, float(nd + len(chunks))) for op in one if op.last_token]
    total = float(np.ravel(sum(_pass_times(d=d, ops=body, rate=rate, scenario=scen).values()))[0])
    total += float(np.ravel(sum(_pass_times(d=d, ops=tail, rate=rate,
                                            scenario=scen).values()))[0])
    if pp > 1:
        size = tokens * model.hidden * scen.activation_precision.bytes
        total += (pp - 1) * float(np.asarray(p2p_send_time(d=d, size_bytes=size))[0, 0])
    if nd:
        ctx = float(np.mean(decode_contexts))
        dec = next(op for op in decode_ops(model, scen, np.array([ctx]))
               if op.op_class is OpClass.ATTENTION)
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
