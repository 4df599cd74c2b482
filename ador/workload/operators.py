"""Operators of a transformer forward pass, with shapes, FLOPs and bytes moved.

Shapes are per chip (after tensor-parallel sharding). Fields may be numpy arrays: a decode
step is built for a vector of context lengths at once, and the cost model broadcasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

Num = float | np.ndarray


class OpClass(str, Enum):
    GEMM = "gemm"  # weight GEMM/GEMV (projections, FFN, lm_head)
    ATTENTION = "attention"  # fused attention: scores, softmax, context
    VECTOR = "vector"  # norms, RoPE, activation, residual adds
    MEMORY = "memory"  # embedding gather
    COLLECTIVE = "collective"  # tensor-parallel all-reduce


class Stage(str, Enum):
    PREFILL = "prefill"
    DECODE = "decode"


@dataclass(frozen=True)
class MatMul:
    """``groups`` independent products of an (m x k) by a (k x n) matrix."""

    m: Num
    n: Num
    k: Num
    groups: Num = 1.0

    @property
    def flops(self) -> Num:
        return 2.0 * self.m * self.n * self.k * self.groups


@dataclass(frozen=True)
class Operator:
    name: str
    op_class: OpClass
    stage: Stage
    repeat: int = 1  # executions per forward pass on one chip (layers per pipeline stage)
    # Roles: a decoder-layer operator runs on every pipeline stage (the embedding, final
    # norm and lm_head once per pass); a collective names the GEMM producing its data (it
    # may overlap with it); a residual add names the operator whose input it adds back; the
    # final norm and lm_head see only the last token of each sequence.
    per_layer: bool = False
    last_token: bool = False
    producer: str | None = None
    residual_from: str | None = None
    matmuls: tuple[MatMul, ...] = ()
    weight_bytes: float = 0.0
    act_in_bytes: Num = 0.0
    act_out_bytes: Num = 0.0
    kv_read_bytes: Num = 0.0
    kv_write_bytes: Num = 0.0
    vector_ops: Num = 0.0
    special_ops: Num = 0.0
    comm_bytes: Num = 0.0  # all-reduce payload per chip

    @property
    def flops(self) -> Num:
        """Matrix FLOPs (2 per MAC) plus vector ops and special-function ops."""
        return sum((mm.flops for mm in self.matmuls), 0.0) + self.vector_ops + self.special_ops

    @property
    def matrix_flops(self) -> Num:
        return sum((mm.flops for mm in self.matmuls), 0.0)

