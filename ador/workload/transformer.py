"""Per-chip operators of one prefill pass and one decode step of a LLaMA-style decoder.

Megatron tensor parallelism: QKV and gate/up are column-parallel, O and down row-parallel,
each followed by an all-reduce of the hidden state; heads are split across chips and KV heads
are replicated when there are fewer KV heads than chips. The lm_head is vocab-parallel
(the logits gather is a few KB per token and is neglected). Pipeline parallelism gives each
chip ``ceil(layers / pp)`` layers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ador.errors import InfeasibleError
from ador.spec.model import ModelSpec, Sharded
from ador.spec.scenario import Scenario
from ador.workload.operators import MatMul, Num, OpClass, Operator, Stage

# Elementwise work per element, counted as vector-lane operations.
RMSNORM_OPS = 4.0  # square, accumulate, scale by rsqrt, scale by weight (+1 rsqrt per token)
ROPE_OPS = 3.0  # x*cos + rotate(x)*sin (tables precomputed)
ADD_OPS = 1.0
SWIGLU_OPS = 4.0  # 1 + exp(-g), reciprocal-multiply, *g, *up (+1 exp per element)
SOFTMAX_OPS = 4.0  # running max, subtract, accumulate, rescale (+1 exp per score)


@dataclass(frozen=True)
class Shard(Sharded):
    """Per-chip sizes (``ModelSpec.sharded``) with the scenario's tp and element sizes."""

    tp: int = 1
    wbytes: float = 2.0
    abytes: float = 2.0
    kvbytes: float = 2.0


def shard(model: ModelSpec, scenario: Scenario) -> Shard:
    tp, pp = scenario.tp, scenario.pp
    if model.heads % tp:
        raise InfeasibleError(f"tp must divide the number of attention heads ({model.heads})",
                              field="tp", value=tp)
    if pp > model.layers:
        raise InfeasibleError(f"pp cannot exceed the number of layers ({model.layers})",
                              field="pp", value=pp)
    return Shard(**vars(model.sharded(tp=tp, pp=pp)), tp=tp,
                 wbytes=scenario.weight_precision.bytes,
                 abytes=scenario.activation_precision.bytes,
                 kvbytes=scenario.kv_precision.bytes)


def _gemm(name: str, *, stage: Stage, s: Shard, m: Num, n: int, k: int, repeat: int,
          per_layer: bool = True) -> Operator:
    return Operator(
        name=name, op_class=OpClass.GEMM, stage=stage, repeat=repeat, per_layer=per_layer,
        matmuls=(MatMul(m=m, n=n, k=k),),
        weight_bytes=float(n * k * s.wbytes),
        act_in_bytes=m * k * s.abytes, act_out_bytes=m * n * s.abytes,
    )


def _vector(name: str, *, stage: Stage, s: Shard, elems: Num, ops: float, special: Num,
            tensors_in: float, repeat: int, per_layer: bool = True,
            residual_from: str | None = None) -> Operator:
    return Operator(
        name=name, op_class=OpClass.VECTOR, stage=stage, repeat=repeat, per_layer=per_layer,
        residual_from=residual_from,
        act_in_bytes=tensors_in * elems * s.abytes, act_out_bytes=elems * s.abytes,
        vector_ops=ops * elems, special_ops=special,
    )


def _allreduce(name: str, *, stage: Stage, s: Shard, tokens: Num, repeat: int,
               producer: str) -> Operator | None:
    if s.tp == 1:
        return None
    return Operator(name=name, op_class=OpClass.COLLECTIVE, stage=stage, repeat=repeat,
                    per_layer=True, producer=producer, comm_bytes=tokens * s.hidden * s.abytes)


def layer_ops(s: Shard, stage: Stage, *, tokens: Num, batch: int, attention: Operator
              ) -> list[Operator]:
    """One decoder layer in execution order; ``tokens`` is rows of the activation matrix."""
    L, h = s.layers, s.hidden
    st: dict[str, Any] = {"stage": stage, "s": s, "repeat": L}
    ops = [
        _vector("input_norm", elems=tokens * h, ops=RMSNORM_OPS, special=tokens, tensors_in=1,
                **st),
        _gemm("qkv_proj", m=tokens, n=s.q_dim + 2 * s.kv_dim, k=h, **st),
        _vector("rope", elems=tokens * (s.q_dim + s.kv_dim), ops=ROPE_OPS, special=0.0,
                tensors_in=1, **st),
        attention,
        _gemm("o_proj", m=tokens, n=h, k=s.q_dim, **st),
        _allreduce("allreduce_attn", tokens=tokens, producer="o_proj", **st),
        _vector("residual_add_attn", elems=tokens * h, ops=ADD_OPS, special=0.0, tensors_in=2,
                residual_from="input_norm", **st),
        _vector("post_attn_norm", elems=tokens * h, ops=RMSNORM_OPS, special=tokens,
                tensors_in=1, **st),
        _gemm("gate_up_proj", m=tokens, n=2 * s.ffn, k=h, **st),
        _vector("swiglu", elems=tokens * s.ffn, ops=SWIGLU_OPS, special=tokens * s.ffn,
                tensors_in=2, **st),
        _gemm("down_proj", m=tokens, n=h, k=s.ffn, **st),
        _allreduce("allreduce_ffn", tokens=tokens, producer="down_proj", **st),
        _vector("residual_add_ffn", elems=tokens * h, ops=ADD_OPS, special=0.0, tensors_in=2,
                residual_from="post_attn_norm", **st),
    ]
    return [op for op in ops if op is not None]


def prefill_attention(s: Shard, *, batch: int, seq: Num, prior: Num = 0) -> Operator:
    """Causal flash-style attention over ``seq`` new tokens for each of ``batch`` requests,
    after ``prior`` already cached tokens (a chunked prefill; 0 for a whole prompt).

    Scores are never written out: Q, K, V are read once, O written once, the cached prior
    K, V read once, and the new K, V rows appended to the cache. On average a query sees
    prior + (seq + 1) / 2 keys.
    """
    keys = prior + (seq + 1) / 2.0
    groups = batch * s.heads
    scores = groups * seq * keys
    return Operator(
        name="attention", op_class=OpClass.ATTENTION, stage=Stage.PREFILL, repeat=s.layers,
        per_layer=True,
        matmuls=(MatMul(m=seq, n=keys, k=s.head_dim, groups=groups),
                 MatMul(m=seq, n=s.head_dim, k=keys, groups=groups)),
        act_in_bytes=batch * seq * (s.q_dim + 2 * s.kv_dim) * s.abytes,
        act_out_bytes=batch * seq * s.q_dim * s.abytes,
        kv_read_bytes=batch * prior * 2 * s.kv_dim * s.kvbytes,
        kv_write_bytes=batch * seq * 2 * s.kv_dim * s.kvbytes,
        vector_ops=SOFTMAX_OPS * scores, special_ops=scores,
    )


def decode_attention(s: Shard, *, batch: int, context: Num) -> Operator:
    """Attention of one new token per sequence over ``context`` cached tokens (GEMV over KV).

    With GQA the ``heads / kv_heads`` query heads that share a KV head form the rows of one
    small GEMM, so each K/V row is read once per group.
    """
    group = s.heads // s.kv_heads
    groups = batch * s.kv_heads
    scores = batch * s.heads * context
    return Operator(
        name="attention", op_class=OpClass.ATTENTION, stage=Stage.DECODE, repeat=s.layers,
        per_layer=True,
        matmuls=(MatMul(m=group, n=context, k=s.head_dim, groups=groups),
                 MatMul(m=group, n=s.head_dim, k=context, groups=groups)),
        act_in_bytes=batch * (s.q_dim + 2 * s.kv_dim) * s.abytes,
        act_out_bytes=batch * s.q_dim * s.abytes,
        kv_read_bytes=batch * context * 2 * s.kv_dim * s.kvbytes,
        kv_write_bytes=batch * 2 * s.kv_dim * s.kvbytes,
        vector_ops=SOFTMAX_OPS * scores, special_ops=scores,
    )


def _head_tail(s: Shard, stage: Stage, *, tokens: Num, last_tokens: Num) -> tuple[list, list]:
    embed = Operator(name="embedding", op_class=OpClass.MEMORY, stage=stage,
                     act_in_bytes=tokens * s.hidden * s.wbytes,
                     act_out_bytes=tokens * s.hidden * s.abytes)
    final_norm = _vector("final_norm", stage=stage, s=s, elems=last_tokens * s.hidden,
                         ops=RMSNORM_OPS, special=last_tokens, tensors_in=1, repeat=1,
                         per_layer=False)
    lm_head = _gemm("lm_head", stage=stage, s=s, m=last_tokens, n=s.vocab, k=s.hidden,
                    repeat=1, per_layer=False)
    return [embed], [replace(final_norm, last_token=True), replace(lm_head, last_token=True)]


def prefill_ops(model: ModelSpec, scenario: Scenario) -> list[Operator]:
    """Operators of the prefill of the whole static batch (batch x input_len tokens).

    Only the last token of each sequence goes through the final norm and lm_head.
    """
    s = shard(model, scenario)
    b, seq = scenario.batch, scenario.input_len
    tokens = float(b * seq)
    head, tail = _head_tail(s, Stage.PREFILL, tokens=tokens, last_tokens=float(b))
    attn = prefill_attention(s, batch=b, seq=seq)
    return head + layer_ops(s, Stage.PREFILL, tokens=tokens, batch=b, attention=attn) + tail


def decode_ops(model: ModelSpec, scenario: Scenario, context: Num) -> list[Operator]:
    """Operators of one decode step: one token per sequence, ``context`` cached tokens."""
    s = shard(model, scenario)
    b = scenario.batch
    tokens = float(b)
    head, tail = _head_tail(s, Stage.DECODE, tokens=tokens, last_tokens=tokens)
    attn = decode_attention(s, batch=b, context=np.asarray(context, dtype=np.float64))
    return head + layer_ops(s, Stage.DECODE, tokens=tokens, batch=b, attention=attn) + tail


def decode_contexts(scenario: Scenario, *, max_points: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Context lengths and weights to average the decode step over the generation.

    Step j (j = 1 .. output_len - 1) attends over input_len + j cached tokens. With at most
    ``max_points`` steps every step is evaluated. Otherwise the nodes are the two ends plus
    golden-ratio (Weyl) points in between, with trapezoid weights on the sorted nodes: exact
    for the linear growth of the step time, and, unlike evenly spaced nodes, they do not
    alias with the staircase that tile quantisation (ceil(context / tile)) adds to it.
    Returns (contexts, weights) with weights summing to one.
    """
    steps = scenario.output_len - 1
    first = scenario.input_len + 1
    if steps <= 0:
        return np.array([float(scenario.input_len)]), np.array([1.0])
    if steps <= max_points:
        ctx = np.arange(first, first + steps, dtype=np.float64)
        return ctx, np.full(steps, 1.0 / steps)
    golden = (np.sqrt(5.0) - 1.0) / 2.0
    inner = np.mod(np.arange(1, max_points - 1) * golden, 1.0)
    u = np.unique(np.round(np.concatenate([[0.0], inner, [1.0]]) * (steps - 1)))
    ctx = first + u
    gaps = np.diff(u)
    w = np.zeros_like(u)
    w[:-1] += gaps / 2.0
    w[1:] += gaps / 2.0
    return ctx, w / w.sum()
