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
- matrix work is split across the matrix kinds a design has (systolic arrays, MAC trees)
  in proportion to their speed;
- operators run one after another (see ador.workload.graph); a collective and the GEMM that
  produces its data overlap only on designs whose links do (p2p overlap_compute), in
  ``CHUNKS`` pipelined chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ador.model.arrays import col
from ador.model.design import DesignArrays
from ador.model.heap import keep_freed_memory
from ador.model.interconnect import allreduce_time
from ador.model.memory import offchip_activation_bytes, op_hbm_bytes
from ador.model.units import best_matrix_time, matrix_kinds
from ador.model.units.vector import vector_time
from ador.workload.operators import MatMul, OpClass, Operator

CHUNKS = 4

keep_freed_memory()  # the operator costs make many large temporaries (see ador.model.heap)


@dataclass(frozen=True)
class OpCost:
    """Per-design seconds of one execution of an operator, and where they went."""

    time: np.ndarray
    matrix: np.ndarray  # matrix-unit seconds (after efficiency)
    shares: dict[str, np.ndarray]  # fraction of matrix work on each matrix kind
    vector: np.ndarray
    hbm: np.ndarray
    sram: np.ndarray
    sram_bytes: np.ndarray
    comm: np.ndarray
    hbm_bytes: np.ndarray
    busy: np.ndarray  # compute, memory and communication combined, before the overhead
    overhead: np.ndarray

    @property
    def share_sa(self) -> np.ndarray:
        """Fraction of the matrix work on the first matrix kind (systolic arrays)."""
        return next(iter(self.shares.values()))

    @property
    def bound(self) -> np.ndarray:
        """What limits each design: 0 compute, 1 HBM, 2 SRAM, 3 communication, 4 overhead."""
        shape = np.broadcast_shapes(*(a.shape for a in self._limits()), self.busy.shape)
        return self.bound_at(shape=shape, column=slice(None))

    def bound_at(self, *, shape: tuple[int, ...], column: int | slice) -> np.ndarray:
        """:attr:`bound` of the arrays broadcast to ``shape``, at one column only (cheap:
        an argmax across the parts is slow over whole (designs, contexts) arrays)."""
        return bounds_at([self], shape=shape, column=column)[0]

    def _limits(self) -> tuple[np.ndarray, ...]:
        return (self.matrix, self.vector, self.hbm, self.sram, self.comm)


def bounds_at(costs: list[OpCost], *, shape: tuple[int, ...], column: int | slice
              ) -> list[np.ndarray]:
    """:meth:`OpCost.bound_at` of several operators at once (one argmax for all)."""
    def at(a: np.ndarray) -> np.ndarray:
        if (isinstance(column, int) and np.ndim(a) == 2 and a.shape[0] == shape[0]
                and a.shape[1] in (1, shape[1])):  # a column or a full array
            return a[:, 0] if a.shape[1] == 1 else a[:, column]
        return np.broadcast_to(a, shape)[:, column]
    parts = np.stack([at(a) for c in costs for a in (
        c.matrix, c.vector, c.hbm, c.sram, c.comm, c.overhead, c.busy)])
    parts = parts.reshape((len(costs), 7, *parts.shape[1:]))
    limits = [np.maximum(parts[:, 0], parts[:, 1]), parts[:, 2], parts[:, 3], parts[:, 4]]
    return list(np.where(parts[:, 5] > parts[:, 6], 4, _first_max(limits)))


def _first_max(parts: list[np.ndarray]) -> np.ndarray:
    """``np.stack(parts, axis=1).argmax(axis=1)``: the index of the first largest part, by
    comparisons along the designs (argmax across a short middle axis is slow); with a NaN,
    which argmax takes as the largest, argmax itself."""
    if any(np.isnan(p).any() for p in parts):
        return np.stack(parts, axis=1).argmax(axis=1)
    index = np.zeros(parts[0].shape, dtype=np.intp)
    best = parts[0]
    for i, p in enumerate(parts[1:], 1):
        index[p > best] = i
        best = np.maximum(best, p)
    return index


def _zeros(d: DesignArrays) -> np.ndarray:
    return np.zeros_like(col(d.clock_hz))


def overlap(parts: np.ndarray, k: np.ndarray) -> np.ndarray:
    """k-norm of the parts along axis 0, computed stably as hi * ||parts / hi||_k."""
    hi = parts.max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = np.where(hi > 0, parts / np.where(hi > 0, hi, 1.0), 0.0)
        norm = np.sum(ratio ** k, axis=0) ** (1.0 / k)
    return hi * np.where(np.isfinite(k), norm, 1.0)


def overlap2(a: np.ndarray, b: np.ndarray, k: np.ndarray) -> np.ndarray:
    """:func:`overlap` of two parts, bit for bit, without stacking them; where no design has
    a finite k (perfect overlap) the norm is skipped: the result is the larger part."""
    hi = np.maximum(a, b)
    if not np.isfinite(k).any():
        return hi
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        safe = np.where(hi > 0, hi, 1.0)
        ra = np.where(hi > 0, a / safe, 0.0)
        rb = np.where(hi > 0, b / safe, 0.0)
        norm = (ra ** k + rb ** k) ** (1.0 / k)
    return hi * np.where(np.isfinite(k), norm, 1.0)


def _finite(a: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(a)``, without the copy where ``a`` is finite already."""
    return a if np.isfinite(a).all() else np.nan_to_num(a)


def _designs(a: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """``a`` as an array with one row per design (``a + zero``, without a copy if it is)."""
    return a if np.ndim(a) == 2 and a.shape[0] == zero.shape[0] else a + zero


@dataclass(frozen=True)
class DesignTerms:
    """Per-design columns that every operator's cost uses: the same for all operators of a
    population at one compute rate, so an evaluation makes them once (:func:`design_terms`)."""

    zero: np.ndarray
    hbm_bw: np.ndarray  # usable HBM bytes/s of matrix and attention kernels
    elementwise_bw: np.ndarray  # ... of vector and memory kernels
    matrix_eff: np.ndarray  # matrix-unit efficiency at the compute rate
    attention_eff: np.ndarray
    sram_bw: np.ndarray
    overlap_exp: np.ndarray
    overhead: np.ndarray
    min_kernel: np.ndarray


def design_terms(*, d: DesignArrays, rate: np.ndarray) -> DesignTerms:
    eff_8bit = np.where(rate >= 2.0, col(d.matrix_eff_8bit), 1.0)
    return DesignTerms(
        zero=_zeros(d), hbm_bw=col(d.hbm_bw) * col(d.hbm_eff),
        elementwise_bw=col(d.hbm_bw) * col(d.elementwise_eff),
        matrix_eff=col(d.matrix_eff) * eff_8bit, attention_eff=col(d.attention_eff) * eff_8bit,
        sram_bw=col(d.sram_bw), overlap_exp=col(d.overlap_exp),
        overhead=col(d.kernel_overhead_s), min_kernel=col(d.min_kernel_s))


def op_cost(*, d: DesignArrays, op: Operator, rate: np.ndarray, tp: int,
            terms: DesignTerms | None = None) -> OpCost:
    """Cost of one execution of ``op`` on every design; ``terms``, when given, are
    ``design_terms(d=d, rate=rate)`` made once for many operators."""
    c = design_terms(d=d, rate=rate) if terms is None else terms
    zero = c.zero
    kinds = matrix_kinds()
    matrix = zero
    shares: list[np.ndarray] = [zero] * len(kinds)
    sram_bytes = zero
    for mm in op.matmuls:
        runs = [kind.time(d=d, mm=mm, rate=rate) for kind in kinds]
        t_mm, shares_mm = best_matrix_time([t for t, _ in runs])
        matrix = matrix + t_mm
        shares = shares_mm  # the shapes of one operator's products pick the same split
        sram_bytes = sram_bytes + shares_mm[0] * runs[0][1]
        for share_k, (_, sram_k) in zip(shares_mm[1:], runs[1:], strict=True):
            sram_bytes = sram_bytes + share_k * _finite(sram_k)
    matrix = matrix / (c.attention_eff if op.op_class is OpClass.ATTENTION else c.matrix_eff)
    vec = vector_time(d=d, ops=op.vector_ops, special=op.special_ops) if (
        np.any(np.asarray(op.vector_ops) > 0)) else zero
    elementwise = op.op_class in (OpClass.VECTOR, OpClass.MEMORY)
    if elementwise:
        on_chip = (op.act_in_bytes + op.act_out_bytes
                   - offchip_activation_bytes(d=d, act_bytes=op.act_in_bytes)
                   - offchip_activation_bytes(d=d, act_bytes=op.act_out_bytes))
        sram_bytes = sram_bytes + on_chip
    hbm_bytes = op_hbm_bytes(d=d, op=op) + zero
    hbm = hbm_bytes / (c.elementwise_bw if elementwise else c.hbm_bw)
    sram = sram_bytes / c.sram_bw
    comm = allreduce_time(d=d, size_bytes=op.comm_bytes, p=tp) if (
        op.op_class is OpClass.COLLECTIVE) else zero
    busy = np.maximum(overlap2(np.maximum(matrix, vec), hbm, c.overlap_exp), sram) + comm
    time = np.maximum(busy + c.overhead, c.min_kernel)
    return OpCost(time=time, matrix=_designs(matrix, zero),
                  shares={k.name: _designs(s, zero) for k, s in zip(kinds, shares, strict=True)},
                  vector=_designs(vec, zero), hbm=hbm, sram=_designs(sram, zero),
                  sram_bytes=_designs(sram_bytes, zero), comm=_designs(comm, zero),
                  hbm_bytes=hbm_bytes, busy=busy, overhead=c.overhead)


# Operator fields that may become one vector over a batch of operators of one class.
_NUMBERS = ("weight_bytes", "act_in_bytes", "act_out_bytes", "kv_read_bytes",
            "kv_write_bytes", "vector_ops", "special_ops", "comm_bytes")
_BATCHED = (OpClass.GEMM, OpClass.VECTOR)


@dataclass(frozen=True)
class CostPlan:
    """How :func:`op_costs` costs a list of operators: each group is the indices of its
    operators and, for more than one, the operator whose sizes are their columns."""

    groups: tuple[tuple[tuple[int, ...], Operator | None], ...]


def cost_plan(ops: list[Operator]) -> CostPlan:
    keyed: dict[Any, list[int]] = {}
    for i, op in enumerate(ops):
        keyed.setdefault(_batch_key(op) or ("alone", i), []).append(i)
    groups: list[tuple[tuple[int, ...], Operator | None]] = []
    for members in keyed.values():
        if len(members) == 1:
            groups.append(((members[0],), None))
            continue
        batch = [ops[i] for i in members]
        fields: dict[str, Any] = {f: np.array([getattr(op, f) for op in batch],
                                              dtype=np.float64) for f in _NUMBERS}
        matmuls = tuple(MatMul(**{f: np.array([getattr(op.matmuls[0], f) for op in batch],
                                              dtype=np.float64)
                                  for f in ("m", "n", "k", "groups")})
                        for _ in batch[0].matmuls)
        groups.append((tuple(members), replace(batch[0], matmuls=matmuls, **fields)))
    return CostPlan(groups=tuple(groups))


def op_costs(*, d: DesignArrays, ops: list[Operator], rate: np.ndarray, tp: int,
             terms: DesignTerms | None = None, plan: CostPlan | None = None) -> list[OpCost]:
    """:func:`op_cost` of each of ``ops``, bit for bit. Weight GEMMs (one product each) and
    elementwise operators whose sizes are plain numbers are costed together, one operator
    per column: the same arithmetic on every element, in far fewer array operations.
    ``plan``, when given, is ``cost_plan(ops)`` made once for many populations."""
    c = design_terms(d=d, rate=rate) if terms is None else terms
    out: list[Any] = [None] * len(ops)
    for members, batched in (cost_plan(ops) if plan is None else plan).groups:
        if batched is None:
            out[members[0]] = op_cost(d=d, op=ops[members[0]], rate=rate, tp=tp, terms=c)
            continue
        whole = op_cost(d=d, op=batched, rate=rate, tp=tp, terms=c)
        for j, i in enumerate(members):
            out[i] = _one_column(whole, j)
    return out


def _batch_key(op: Operator) -> tuple | None:
    """Operators with the same key are costed together (None: alone)."""
    if op.op_class not in _BATCHED or len(op.matmuls) > 1 or any(
            np.ndim(getattr(op, f)) for f in _NUMBERS) or any(
            np.ndim(getattr(mm, f)) for mm in op.matmuls for f in ("m", "n", "k", "groups")):
        return None
    return (op.op_class, len(op.matmuls), bool(np.any(np.asarray(op.vector_ops) > 0)))


def _one_column(whole: OpCost, j: int) -> OpCost:
    def pick(a: np.ndarray) -> np.ndarray:
        return a if a.shape[1] == 1 else a[:, j:j + 1]
    return OpCost(time=pick(whole.time), matrix=pick(whole.matrix),
                  shares={k: pick(v) for k, v in whole.shares.items()},
                  vector=pick(whole.vector), hbm=pick(whole.hbm), sram=pick(whole.sram),
                  sram_bytes=pick(whole.sram_bytes), comm=pick(whole.comm),
                  hbm_bytes=pick(whole.hbm_bytes), busy=pick(whole.busy),
                  overhead=pick(whole.overhead))


def overlap_collective(*, d: DesignArrays, producer: np.ndarray, collective: np.ndarray
                       ) -> np.ndarray:
    """Seconds the collective adds after its producing GEMM.

    Without overlap: all of it. With chunked overlap (CHUNKS pieces, each all-reduced as soon
    as it is produced) the pair takes max(g, c) + min(g, c) / CHUNKS.
    """
    pipelined = (np.maximum(producer, collective) + np.minimum(producer, collective) / CHUNKS
                 - producer)
    return np.where(col(d.p2p_overlap) > 0, pipelined, collective)
