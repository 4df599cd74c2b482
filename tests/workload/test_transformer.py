"""Workload counts checked against hand arithmetic from the published model shapes.

llama3-8b: 32 layers, hidden 4096, 32 query heads and 8 KV heads of 128, SwiGLU 14336,
vocab 128256, untied embeddings.
"""

from __future__ import annotations

import numpy as np
import pytest

from ador.errors import InfeasibleError
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario
from ador.workload.graph import build_graph, critical_path
from ador.workload.operators import OpClass, Stage
from ador.workload.transformer import (decode_contexts, decode_ops, prefill_ops, shard)

KIB = 1024


def by_name(ops):
    return {op.name: op for op in ops}


# --- parameters and KV cache ----------------------------------------------------------------

def test_llama3_8b_parameter_count(llama3_8b):
    # per layer: QKV 4096 x (4096 + 2 x 1024) + O 4096 x 4096 + FFN 3 x 4096 x 14336 + 2 norms
    per_layer = 4096 * 6144 + 4096 * 4096 + 3 * 4096 * 14336 + 2 * 4096
    assert per_layer == 218_112_000
    total = 32 * per_layer + 2 * 128256 * 4096 + 4096  # + embedding, lm_head, final norm
    assert total == 8_030_261_248
    assert llama3_8b.params_per_layer == per_layer
    assert llama3_8b.params == 8_030_261_248
    assert llama3_8b.params == pytest.approx(8.03e9, rel=1e-3)


def test_llama3_70b_parameter_count(llama3_70b):
    per_layer = 8192 * (8192 + 2 * 1024) + 8192 * 8192 + 3 * 8192 * 28672 + 2 * 8192
    total = 80 * per_layer + 2 * 128256 * 8192 + 8192
    assert llama3_70b.params == total == 70_553_706_496
    assert llama3_70b.params == pytest.approx(70.55e9, rel=1e-3)


def test_llama2_7b_parameter_count(llama2_7b):
    assert llama2_7b.params == 6_738_415_616  # the published 6.74 B


def test_kv_cache_bytes_per_token(llama3_8b, llama3_70b, llama2_7b):
    # 2 (K and V) x layers x kv_heads x head_dim x 2 bytes
    assert llama3_8b.kv_bytes_per_token(2) == 2 * 32 * 8 * 128 * 2 == 131_072 == 128 * KIB
    assert llama3_70b.kv_bytes_per_token(2) == 2 * 80 * 8 * 128 * 2 == 320 * KIB
    assert llama2_7b.kv_bytes_per_token(2) == 2 * 32 * 32 * 128 * 2 == 512 * KIB
    assert llama3_8b.kv_bytes_per_token(1) == 64 * KIB


def test_tied_embeddings_drop_the_lm_head(llama3_8b):
    tied = ModelSpec.model_validate({**llama3_8b.model_dump(), "tied_embeddings": True})
    assert llama3_8b.params - tied.params == 128256 * 4096


# --- per-operator FLOPs and weight bytes -------------------------------------------------

LAYER_GEMMS = {  # name: (N, K) of the weight matrix, llama3-8b, tp 1
    "qkv_proj": (4096 + 2 * 1024, 4096),
    "o_proj": (4096, 4096),
    "gate_up_proj": (2 * 14336, 4096),
    "down_proj": (4096, 14336),
}


@pytest.mark.parametrize("tokens", [1, 16])
def test_layer_gemm_flops_and_weight_bytes_decode(llama3_8b, tokens):
    ops = by_name(decode_ops(llama3_8b, Scenario(batch=tokens, input_len=8, output_len=2), 9))
    expected_bytes = {"qkv_proj": 50_331_648, "o_proj": 33_554_432,
                      "gate_up_proj": 234_881_024, "down_proj": 117_440_512}
    for name, (n, k) in LAYER_GEMMS.items():
        op = ops[name]
        assert op.op_class is OpClass.GEMM and op.stage is Stage.DECODE
        assert op.repeat == 32
        assert op.weight_bytes == n * k * 2 == expected_bytes[name]
        assert op.matrix_flops == 2 * tokens * n * k
        assert op.act_in_bytes == tokens * k * 2 and op.act_out_bytes == tokens * n * 2
    layer_bytes = sum(ops[n].weight_bytes for n in LAYER_GEMMS)
    assert layer_bytes == 2 * (llama3_8b.params_per_layer - 2 * 4096)  # all but the norms


def test_layer_gemm_flops_prefill(llama3_8b):
    ops = by_name(prefill_ops(llama3_8b, Scenario(batch=2, input_len=512, output_len=4)))
    assert ops["qkv_proj"].matrix_flops == 2 * 1024 * 6144 * 4096
    assert ops["o_proj"].matrix_flops == 2 * 1024 * 4096 * 4096
    assert ops["gate_up_proj"].matrix_flops == 2 * 1024 * 28672 * 4096
    assert ops["down_proj"].matrix_flops == 2 * 1024 * 4096 * 14336
    # only the last token of each sequence reaches the lm_head
    assert ops["lm_head"].matrix_flops == 2 * 2 * 128256 * 4096
    assert ops["lm_head"].repeat == 1 and ops["embedding"].repeat == 1


@pytest.mark.parametrize("batch, seq", [(1, 1024), (4, 128), (16, 1024)])
def test_prefill_matrix_flops_per_token(llama3_8b, batch, seq):
    """2 x non-embedding matmul params + causal attention + the last-token lm_head."""
    linear = 32 * (4096 * 6144 + 4096 * 4096 + 3 * 4096 * 14336)  # 6,979,321,856
    assert linear == 6_979_321_856
    # QK^T and PV: 2 matmuls x 2 FLOP x heads x head_dim x mean keys ((seq+1)/2) per layer
    attention = 32 * 2 * 2 * 32 * 128 * (seq + 1) / 2
    lm_head = 2 * 128256 * 4096 / seq  # one token in seq
    expected = 2 * linear + attention + lm_head
    if seq == 1024:
        assert 2 * linear + attention == 13_958_643_712 + 268_697_600
    ops = prefill_ops(llama3_8b, Scenario(batch=batch, input_len=seq, output_len=2))
    total = sum(op.matrix_flops * op.repeat for op in ops)
    assert total / (batch * seq) == pytest.approx(expected, rel=1e-12)


def test_prefill_attention_shapes(llama3_8b):
    att = by_name(prefill_ops(llama3_8b, Scenario(batch=2, input_len=100, output_len=2)))[
        "attention"]
    assert att.op_class is OpClass.ATTENTION and att.repeat == 32
    assert att.kv_write_bytes == 2 * 100 * 2 * 1024 * 2  # batch x seq x (K,V) x kv_dim x 2 B
    assert att.kv_read_bytes == 0
    assert att.special_ops == 2 * 32 * 100 * 50.5  # one exp per score


@pytest.mark.parametrize("context", [1, 1000, 4096])
def test_decode_attention_kv_read_bytes(llama3_8b, context):
    ops = by_name(decode_ops(llama3_8b, Scenario(batch=8, input_len=4, output_len=2), context))
    att = ops["attention"]
    per_layer = 8 * context * 2 * 1024 * 2  # batch x context x (K,V) x kv_dim x 2 B
    assert att.kv_read_bytes == per_layer
    # over all layers: 128 KiB per cached token per sequence
    assert att.kv_read_bytes * att.repeat == 8 * context * 128 * KIB
    assert att.kv_write_bytes * att.repeat == 8 * 128 * KIB
    # GQA: 4 query heads share a KV head -> (4 x context x 128) per KV head, twice
    assert att.matrix_flops == 2 * 2 * 8 * 8 * 4 * context * 128


def test_decode_ops_vectorise_over_contexts(llama3_8b):
    ctx = np.array([10.0, 20.0, 40.0])
    sc = Scenario(batch=2, input_len=4, output_len=2)
    vec = by_name(decode_ops(llama3_8b, sc, ctx))["attention"]
    for i, c in enumerate(ctx):
        one = by_name(decode_ops(llama3_8b, sc, c))["attention"]
        assert vec.kv_read_bytes[i] == one.kv_read_bytes
        assert vec.matrix_flops[i] == one.matrix_flops


def test_operator_order_and_collectives(llama3_8b):
    names = [op.name for op in decode_ops(llama3_8b, Scenario(batch=1, input_len=1,
                                                              output_len=2), 2)]
    assert names[0] == "embedding" and names[-2:] == ["final_norm", "lm_head"]
    assert "allreduce_attn" not in names
    tp2 = by_name(decode_ops(llama3_8b, Scenario(batch=4, input_len=1, output_len=2, tp=2), 2))
    assert tp2["allreduce_attn"].op_class is OpClass.COLLECTIVE
    assert tp2["allreduce_ffn"].comm_bytes == 4 * 4096 * 2


# --- sharding -----------------------------------------------------------------------------

@pytest.mark.parametrize("tp", [1, 2, 4, 8])
def test_tensor_parallel_shards_weights(llama3_8b, tp):
    sc = Scenario(batch=1, input_len=1, output_len=2, tp=tp)
    ops = by_name(decode_ops(llama3_8b, sc, 2))
    layer = sum(ops[n].weight_bytes for n in LAYER_GEMMS)
    assert layer == pytest.approx(2 * (llama3_8b.params_per_layer - 2 * 4096) / tp)
    assert ops["lm_head"].weight_bytes == 2 * 4096 * 128256 / tp


def test_kv_heads_are_replicated_beyond_their_count(llama3_8b):
    s = shard(llama3_8b, Scenario(batch=1, input_len=1, output_len=2, tp=16))
    assert s.heads == 2 and s.kv_heads == 1


def test_pipeline_parallel_splits_layers(llama3_8b):
    s = shard(llama3_8b, Scenario(batch=1, input_len=1, output_len=2, pp=4))
    assert s.layers == 8
    with pytest.raises(InfeasibleError, match="layers"):
        shard(llama3_8b, Scenario(batch=1, input_len=1, output_len=2, pp=64))


def test_tp_must_divide_heads(llama3_8b):
    with pytest.raises(InfeasibleError, match="divide") as info:
        shard(llama3_8b, Scenario(batch=1, input_len=1, output_len=2, tp=64))
    assert info.value.field == "tp" and info.value.value == 64


# --- decode contexts ------------------------------------------------------------------------

def test_decode_contexts_enumerate_short_generations():
    ctx, w = decode_contexts(Scenario(batch=1, input_len=100, output_len=6))
    np.testing.assert_array_equal(ctx, [101, 102, 103, 104, 105])
    np.testing.assert_allclose(w, 0.2)


def test_decode_contexts_integrate_long_generations():
    ctx, w = decode_contexts(Scenario(batch=1, input_len=100, output_len=1001), max_points=32)
    assert len(ctx) == 32 and ctx[0] == 101 and ctx[-1] == 1100
    assert np.all(np.diff(ctx) > 0) and np.all(ctx == np.round(ctx))
    assert w.sum() == pytest.approx(1.0) and np.all(w > 0)
    # spacing is not uniform (no aliasing with tile staircases)
    assert len(set(np.diff(ctx))) > 3
    # a linear function of context is integrated exactly: mean of 101..1100
    assert ctx @ w == pytest.approx(np.arange(101, 1101).mean())


def test_single_output_token_has_no_decode_step():
    ctx, w = decode_contexts(Scenario(batch=1, input_len=7, output_len=1))
    assert w.sum() == 1.0 and len(ctx) == 1


# --- operator graph -------------------------------------------------------------------------

def test_critical_path_of_a_layer_is_the_sum(llama3_8b):
    ops = decode_ops(llama3_8b, Scenario(batch=1, input_len=1, output_len=2), 2)
    g = build_graph(ops)
    assert set(g.order) == {op.name for op in ops}
    rng = np.random.default_rng(0)
    times = {op.name: rng.uniform(0, 1, size=(3, 1)) for op in ops}
    np.testing.assert_allclose(critical_path(g, times), sum(times.values()))


def test_graph_rejects_duplicate_names(llama3_8b):
    ops = decode_ops(llama3_8b, Scenario(batch=1, input_len=1, output_len=2), 2)
    with pytest.raises(ValueError):
        build_graph(ops + [ops[0]])


def test_critical_path_skips_only_edges_a_longer_path_covers(llama3_8b):
    from ador.workload.operators import OpClass, Operator

    ops = prefill_ops(llama3_8b, Scenario(batch=1, input_len=8, output_len=1))
    g = build_graph(ops)
    assert build_graph(ops) is g  # one graph per operator structure
    # residual edges are implied by the chain, so every node keeps one direct predecessor
    assert all(len(g.direct[v]) <= 1 for v in g.order)
    assert sum(len(p) for p in g.preds.values()) > sum(len(p) for p in g.direct.values())
    # a skip edge root -> b that the chain root -> a -> b covers: the path is the sum
    a = Operator(name="a", op_class=OpClass.VECTOR, stage=ops[0].stage)
    b = Operator(name="b", op_class=OpClass.VECTOR, stage=ops[0].stage, residual_from="root")
    root = Operator(name="root", op_class=OpClass.VECTOR, stage=ops[0].stage)
    g2 = build_graph([root, a, b])
    times = {"root": np.array([1.0]), "a": np.array([5.0]), "b": np.array([2.0])}
    assert critical_path(g2, times)[0] == 8.0
