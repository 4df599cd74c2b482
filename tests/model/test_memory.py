"""HBM traffic and per-chip footprint."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ador.model.memory import footprint, gemm_hbm_bytes, op_hbm_bytes
from ador.spec.scenario import Scenario
from ador.workload.operators import OpClass
from ador.workload.transformer import decode_ops, prefill_ops
from tests.conftest import designs

KIB = 1024


def test_llama3_8b_fp16_footprint(llama3_8b):
    sc = Scenario(batch=16, input_len=1024, output_len=256)
    fp = footprint(llama3_8b, sc)
    # weights: every parameter in FP16 (16.06 GB)
    assert fp.weights == 2 * llama3_8b.params
    assert fp.weights == pytest.approx(16.06e9, rel=1e-3)
    # KV: batch x (input + output) tokens x 128 KiB
    assert fp.kv_cache == 16 * 1280 * 128 * KIB
    assert fp.total == fp.weights + fp.kv_cache + fp.activations
    assert fp.activations > 0


def test_tied_embeddings_are_stored_once(llama3_8b):
    """Parameter count and weight bytes come from one source: a tied lm_head is the
    embedding table (15.01 GB for a tied llama3-8b in FP16, not 16.06 GB)."""
    tied = llama3_8b.model_copy(update={"tied_embeddings": True})
    sc = Scenario(batch=1, input_len=16, output_len=16)
    assert footprint(tied, sc).weights == 2 * tied.params == 15_009_849_344
    assert footprint(llama3_8b, sc).weights - footprint(tied, sc).weights == 2 * 128256 * 4096
    for tp in (1, 2, 8):  # the shards hold the model once, norms replicated on every chip
        per_chip = footprint(tied, Scenario(batch=1, input_len=16, output_len=16, tp=tp)).weights
        norms = (2 * 32 + 1) * 4096 * 2
        assert (per_chip - norms) * tp == pytest.approx(2 * tied.params - norms, rel=1e-12)


def test_footprint_shrinks_with_tp_and_kv_precision(llama3_8b):
    base = footprint(llama3_8b, Scenario(batch=8, input_len=512, output_len=512))
    tp2 = footprint(llama3_8b, Scenario(batch=8, input_len=512, output_len=512, tp=2))
    # norm weights (a few hundred KiB) are replicated, the matrices split
    assert tp2.weights == pytest.approx(base.weights / 2, rel=1e-4)
    assert tp2.weights >= base.weights / 2
    assert tp2.kv_cache == base.kv_cache / 2
    fp8kv = footprint(llama3_8b, Scenario(batch=8, input_len=512, output_len=512,
                                          kv_precision="fp8"))
    assert fp8kv.kv_cache == base.kv_cache / 2
    # 8 KV heads: beyond tp 8 each chip keeps a replica of one KV head
    tp16 = footprint(llama3_8b, Scenario(batch=8, input_len=512, output_len=512, tp=16))
    tp8 = footprint(llama3_8b, Scenario(batch=8, input_len=512, output_len=512, tp=8))
    assert tp16.kv_cache == tp8.kv_cache


def test_llama3_70b_needs_more_than_one_80gb_chip(llama3_70b):
    fp = footprint(llama3_70b, Scenario(batch=1, input_len=128, output_len=128))
    assert fp.weights == pytest.approx(2 * 70.55e9, rel=1e-3)
    assert fp.total > 80e9


def test_decode_gemms_read_their_weights_exactly_once(llama3_8b):
    d = designs("ador-hetero", "a100-sxm-80gb", "h100-sxm-80gb")
    ops = decode_ops(llama3_8b, Scenario(batch=16, input_len=1024, output_len=2), 1025.0)
    for op in ops:
        if op.op_class is OpClass.GEMM:
            # activations of 16 tokens fit in any global buffer: HBM traffic = weights
            np.testing.assert_allclose(gemm_hbm_bytes(d=d, op=op)[:, 0], op.weight_bytes)


def test_gemm_never_reads_less_than_its_operands_once(llama3_8b):
    d = designs("ador-hetero", "a100-sxm-80gb")
    for op in prefill_ops(llama3_8b, Scenario(batch=16, input_len=1024, output_len=2)):
        if op.op_class is OpClass.GEMM:
            assert np.all(gemm_hbm_bytes(d=d, op=op) >= op.weight_bytes)


def test_small_sram_spills_activations_and_rereads(llama3_8b):
    d = designs("ador-hetero")
    tiny = dataclasses.replace(d, sram_bytes=np.array([1.0 * 2**20]))
    op = {o.name: o for o in prefill_ops(llama3_8b, Scenario(batch=16, input_len=1024,
                                                               output_len=2))}["gate_up_proj"]
    big, small = gemm_hbm_bytes(d=d, op=op), gemm_hbm_bytes(d=tiny, op=op)
    assert small[0] > big[0]
    # the 224 MiB output cannot stay on a 1 MiB chip
    assert small[0] >= op.weight_bytes + op.act_in_bytes + op.act_out_bytes


def test_attention_reads_the_kv_cache_from_hbm(llama3_8b):
    d = designs("ador-hetero")
    att = {o.name: o for o in decode_ops(llama3_8b, Scenario(batch=4, input_len=8,
                                                               output_len=2), 2048.0)}["attention"]
    assert op_hbm_bytes(d=d, op=att)[0] >= att.kv_read_bytes + att.kv_write_bytes
    assert att.kv_read_bytes == 4 * 2048 * 2 * 1024 * 2
