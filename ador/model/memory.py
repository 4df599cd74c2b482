"""HBM traffic with on-chip reuse bounded by SRAM capacity, and memory footprint.

Vectorized over designs: design fields are (n, 1) columns, operator sizes scalars or (k,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.compute import col
from ador.model.design import DesignArrays
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario
from ador.workload.operators import OpClass, Operator
from ador.workload.transformer import shard


def offchip_activation_bytes(*, d: DesignArrays, act_bytes) -> np.ndarray:
    """Activation bytes that go to HBM: a tensor that fits in the part of the global buffer
    that holds activations (``activation_residency`` of it) stays on chip; a larger one
    spills entirely."""
    act = np.asarray(act_bytes, dtype=np.float64)
    return np.where(act <= col(d.sram_bytes) * col(d.act_residency), 0.0, act)


def gemm_hbm_bytes(*, d: DesignArrays, op: Operator) -> np.ndarray:
    """HBM bytes of a weight GEMM with blocking bounded by SRAM capacity.

    With half the global buffer as blocking space B, either the activations are cut into
    blocks of B and the weights streamed once per block, or the weights are cut into blocks
    and the activations streamed once per weight block; the cheaper order is taken.
    Activations that fit on chip never touch HBM.
    """
    block = col(d.sram_bytes) / 2.0
    w = op.weight_bytes
    a_in = np.asarray(op.act_in_bytes, dtype=np.float64)
    a_off = offchip_activation_bytes(d=d, act_bytes=a_in)
    act_blocked = w * np.maximum(np.ceil(a_in / block), 1.0) + a_off
    weight_blocked = w + a_off * np.maximum(np.ceil(w / block), 1.0)
    out = offchip_activation_bytes(d=d, act_bytes=op.act_out_bytes)
    return np.minimum(act_blocked, weight_blocked) + out


def op_hbm_bytes(*, d: DesignArrays, op: Operator) -> np.ndarray:
    """HBM bytes of one operator execution."""
    if op.op_class is OpClass.GEMM:
        return gemm_hbm_bytes(d=d, op=op)
    if op.op_class is OpClass.MEMORY:  # embedding rows gathered from the table in HBM
        return op.act_in_bytes + offchip_activation_bytes(d=d, act_bytes=op.act_out_bytes)
    acts = (offchip_activation_bytes(d=d, act_bytes=op.act_in_bytes)
            + offchip_activation_bytes(d=d, act_bytes=op.act_out_bytes))
    return acts + op.kv_read_bytes + op.kv_write_bytes + op.weight_bytes


@dataclass(frozen=True)
class Footprint:
    """Per-chip memory need in bytes (scalars: the same for every design)."""

    weights: float
    kv_cache: float
    activations: float

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.activations


def footprint(model: ModelSpec, scenario: Scenario) -> Footprint:
    """Weights, full-length KV cache and peak prefill activations on one chip.

    Weights: every matrix sharded by TP (embedding and lm_head vocab-parallel, a tied lm_head
    stored once with the embedding), layers by PP (``ModelSpec.sharded``).
    KV: batch x (input_len + output_len) tokens of this chip's KV heads.
    Activations: the prefill working set of one layer: the hidden state and residual, the
    widest intermediate (QKV or gate/up) and the attention output, for all batch x input
    tokens (flash attention keeps no score matrix).
    """
    s = shard(model, scenario)
    weights = s.params * s.wbytes
    tokens_total = scenario.input_len + scenario.output_len
    kv = scenario.batch * tokens_total * 2 * s.kv_dim * s.kvbytes * s.layers
    rows = scenario.batch * scenario.input_len
    widest = max(s.q_dim + 2 * s.kv_dim, 2 * s.ffn)
    acts = rows * (2 * model.hidden + widest + s.q_dim) * s.abytes
    return Footprint(weights=float(weights), kv_cache=float(kv), activations=float(acts))
