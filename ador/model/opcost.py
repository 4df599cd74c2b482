"""Time of one operator on every design: compute, memory and communication combined.

Overlap assumptions (stated once, used everywhere):
- within an operator, compute, global-buffer (SRAM) traffic and HBM traffic overlap
  (double-buffered tiles): its busy time is the larger of the SRAM time and the k-norm of
  the compute and HBM times, with the calibrated overlap exponent k (k = infinity: perfect
  overlap, the larger alone; finite k: the cost of imperfect overlap near the ridge
  point, where both are of similar size), plus a fixed
  per-operator overhead (launch, synchronisation, pipeline start), and never less than
  the calibrated minimum kernel time; a collective's time is added to that;
- in a fused attention kernel the matrix pipes and the vector pipes (softmax) overlap;
- matrix work may be split across systolic arrays and MAC trees when that is faster;
- operators run one after another (see ador.workload.graph); a collective and the GEMM that
  produces its data overlap only on designs whose links do (p2p overlap_compute), in
  ``CHUNKS`` pipelined chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.compute import best_matrix_time, col, mactree_time, systolic_time, vector_time
from ador.model.design import DesignArrays
from ador.model.interconnect import allreduce_time
from ador.model.memory import offchip_activation_bytes, op_hbm_bytes
from ador.workload.operators import OpClass, Operator

CHUNKS = 4


@dataclass(frozen=True)
class OpCost:
    """Per-design seconds of one execution of an operator, and where they went."""

    time: np.ndarray
    matrix: np.ndarray  # matrix-unit seconds (after efficiency)
    share_sa: np.ndarray  # fraction of matrix work on systolic arrays
    vector: np.ndarray
    hbm: np.ndarray
    sram: np.ndarray
    sram_bytes: np.ndarray
    comm: np.ndarray
    hbm_bytes: np.ndarray
    bound: np.ndarray  # 0 compute, 1 HBM, 2 SRAM, 3 communication, 4 overhead


def _zeros(d: DesignArrays) -> np.ndarray:
    return np.zeros_like(col(d.clock_hz))


def overlap(parts: np.ndarray, k: np.ndarray) -> np.ndarray:
    """k-norm of the parts along axis 0, computed stably as hi * ||parts / hi||_k."""
    hi = parts.max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = np.where(hi > 0, parts / np.where(hi > 0, hi, 1.0), 0.0)
        norm = np.sum(ratio ** k, axis=0) ** (1.0 / k)
    return hi * np.where(np.isfinite(k), norm, 1.0)


def op_cost(*, d: DesignArrays, op: Operator, rate: np.ndarray, tp: int) -> OpCost:
    zero = _zeros(d)
    hbm_bw = col(d.hbm_bw) * col(d.hbm_eff)
    matrix = share = zero
    sram_bytes = zero
    for mm in op.matmuls:
        t_sa, sram_sa = systolic_time(d=d, mm=mm, rate=rate)
        t_mt, sram_mt = mactree_time(d=d, mm=mm, rate=rate)
        t_mm, share_mm = best_matrix_time(t_sa, t_mt)
        matrix = matrix + t_mm
        share = share_mm  # the shapes of one operator's products pick the same split
        sram_bytes = sram_bytes + share_mm * sram_sa + (1 - share_mm) * np.nan_to_num(sram_mt)
    eff = col(d.attention_eff) if op.op_class is OpClass.ATTENTION else col(d.matrix_eff)
    eff = eff * np.where(rate >= 2.0, col(d.matrix_eff_8bit), 1.0)
    matrix = matrix / eff
    vec = vector_time(d=d, ops=op.vector_ops, special=op.special_ops) if (
        np.any(np.asarray(op.vector_ops) > 0)) else zero
    if op.op_class in (OpClass.VECTOR, OpClass.MEMORY):
        on_chip = (op.act_in_bytes + op.act_out_bytes
                   - offchip_activation_bytes(d=d, act_bytes=op.act_in_bytes)
                   - offchip_activation_bytes(d=d, act_bytes=op.act_out_bytes))
        sram_bytes = sram_bytes + on_chip
    hbm_bytes = op_hbm_bytes(d=d, op=op) + zero
    if op.op_class in (OpClass.VECTOR, OpClass.MEMORY):
        hbm_bw = col(d.hbm_bw) * col(d.elementwise_eff)
    hbm = hbm_bytes / hbm_bw
    sram = sram_bytes / col(d.sram_bw)
    comm = allreduce_time(d=d, size_bytes=op.comm_bytes, p=tp) if (
        op.op_class is OpClass.COLLECTIVE) else zero
    parts = np.stack(np.broadcast_arrays(np.maximum(matrix, vec), hbm, sram))
    busy = np.maximum(overlap(parts[:2], col(d.overlap_exp)), parts[2]) + comm
    overhead = col(d.kernel_overhead_s)
    time = np.maximum(busy + overhead, col(d.min_kernel_s))
    kinds = np.concatenate([parts, np.broadcast_to(comm, parts.shape[1:])[None]])
    bound = np.where(overhead > busy, 4, kinds.argmax(axis=0))
    return OpCost(time=time, matrix=matrix + zero, share_sa=share + zero, vector=vec + zero,
                  hbm=hbm, sram=sram + zero, sram_bytes=sram_bytes + zero, comm=comm + zero, hbm_bytes=hbm_bytes,
                  bound=bound)


def overlap_collective(*, d: DesignArrays, producer: np.ndarray, collective: np.ndarray
                       ) -> np.ndarray:
    """Seconds the collective adds after its producing GEMM.

    Without overlap: all of it. With chunked overlap (CHUNKS pieces, each all-reduced as soon
    as it is produced) the pair takes max(g, c) + min(g, c) / CHUNKS.
    """
    pipelined = (np.maximum(producer, collective) + np.minimum(producer, collective) / CHUNKS
                 - producer)
    return np.where(col(d.p2p_overlap) > 0, pipelined, collective)
