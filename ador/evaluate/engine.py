"""The evaluator: a scenario on a population of designs, in one vectorized pass."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ador.errors import InfeasibleError
from ador.evaluate.results import HBM, VECTOR_UNIT, PopulationResult, StageResult
from ador.model.arrays import col
from ador.model.design import DesignArrays
from ador.model.interconnect import p2p_send_time
from ador.model.memory import footprint
from ador.model.opcost import (
    CostPlan,
    bounds_at,
    cost_plan,
    design_terms,
    op_costs,
    overlap_collective,
)
from ador.model.units import matrix_kinds
from ador.spec.hardware import HardwareSpec
from ador.spec.io import context_rule
from ador.spec.model import ModelSpec
from ador.spec.precision import RATE_VS_FP16
from ador.spec.scenario import Scenario
from ador.workload.graph import OpGraph, build_graph, critical_path
from ador.workload.operators import Operator
from ador.workload.transformer import decode_contexts, decode_ops, prefill_ops


def evaluate_population(*, designs: DesignArrays, model: ModelSpec, scenario: Scenario,
                        max_points: int = 32) -> PopulationResult:
    """Evaluate ``scenario`` of ``model`` on every design of ``designs`` at once."""
    tokens = scenario.input_len + scenario.output_len
    if tokens > model.max_context:
        raise InfeasibleError(context_rule(model, tokens), field="input_len + output_len",
                              value=None)
    d = designs
    rate = col(np.full(d.n, RATE_VS_FP16[scenario.compute_precision]))
    prefill, decode = (_stage(d=d, p=p, scenario=scenario, rate=rate, model=model)
                       for p in _passes(model, scenario, max_points))
    ttft = prefill.time
    tpot = decode.time
    e2e = ttft + (scenario.output_len - 1) * tpot
    throughput = scenario.batch * scenario.output_len / e2e
    mem = footprint(model, scenario)
    capacity = d.hbm_bytes
    supported = d.supports_precision(scenario.compute_precision) & d.supports_precision(
        scenario.kv_precision) & (d.chips >= scenario.chips)
    return PopulationResult(
        ttft=ttft, tpot=tpot, e2e=e2e, throughput=throughput,
        throughput_per_chip=throughput / scenario.chips, chips=scenario.chips, memory=mem,
        memory_capacity=capacity, fits_memory=mem.total <= capacity, supported=supported,
        prefill=prefill, decode=decode,
    )


@dataclass(frozen=True)
class _Pass:
    """What a prefill pass or a decode step is, whatever the designs: its operators,
    context weights, executions per pass (layer operators run on every pipeline stage, one
    after another), graph and the figures that need no design. Shared by every evaluation
    of the same (model, scenario, max_points): read-only."""

    ops: list[Operator]
    weights: np.ndarray
    tokens: int  # activation rows sent between pipeline stages
    reps: dict[str, int]
    graph: OpGraph
    matrix_ops: list[Operator]  # the operators with matrix products
    matrix_flops: list[Any]  # of each of matrix_ops
    flops: dict[str, float]
    comm_bytes: dict[str, float]
    op_class: dict[str, str]
    vector_work: np.ndarray  # vector-lane and special ops per pass, context-averaged
    plan: CostPlan  # which operators are costed together


def _pass(ops: list[Operator], weights: np.ndarray, *, tokens: int, scenario: Scenario
          ) -> _Pass:
    reps = {op.name: op.repeat * (scenario.pp if op.per_layer else 1) for op in ops}
    # the same for every design: averaged over one row, as every row would be
    vec = np.zeros((len(ops), weights.shape[0])) + np.array(
        [np.broadcast_to(op.vector_ops + op.special_ops, weights.shape) for op in ops])
    each = weighted_sum(vec, weights, n=len(ops))
    vector_work: Any = 0.0
    for i, op in enumerate(ops):
        vector_work = vector_work + each[i:i + 1] * reps[op.name]
    matrix_ops = [op for op in ops if op.matmuls]
    return _Pass(
        ops=ops, weights=weights, tokens=tokens, reps=reps, graph=build_graph(ops),
        matrix_ops=matrix_ops, matrix_flops=[op.matrix_flops for op in matrix_ops],
        flops={op.name: float(np.sum(np.broadcast_to(op.flops, weights.shape) * weights))
               * reps[op.name] for op in ops},
        comm_bytes={op.name: _sent_bytes(op.comm_bytes, scenario.tp) * reps[op.name]
                    for op in ops},
        op_class={op.name: op.op_class.value for op in ops},
        vector_work=vector_work, plan=cost_plan(ops))


@functools.lru_cache(maxsize=64)
def _passes(model: ModelSpec, scenario: Scenario, max_points: int) -> tuple[_Pass, _Pass]:
    """The prefill pass and the decode step of a scenario, built once."""
    ctx, weights = decode_contexts(scenario, max_points=max_points)
    return (_pass(prefill_ops(model, scenario), np.array([1.0]),
                  tokens=scenario.batch * scenario.input_len, scenario=scenario),
            _pass(decode_ops(model, scenario, ctx), weights, tokens=scenario.batch,
                  scenario=scenario))


def _stage(*, d: DesignArrays, p: _Pass, scenario: Scenario, rate: np.ndarray,
           model: ModelSpec) -> StageResult:
    """Time of one pass; arrays are (n, k) over designs and decode contexts until averaged."""
    ops, reps, weights = p.ops, p.reps, p.weights
    terms = design_terms(d=d, rate=rate)
    costs = dict(zip((op.name for op in ops), op_costs(
        d=d, ops=ops, rate=rate, tp=scenario.tp, terms=terms, plan=p.plan), strict=True))
    times = {}
    for op in ops:
        t = costs[op.name].time
        if op.producer is not None:
            t = overlap_collective(d=d, producer=costs[op.producer].time,
                                   collective=costs[op.name].comm) + (
                t - costs[op.name].comm)
        times[op.name] = t * reps[op.name]
    total = critical_path(p.graph, times)
    if scenario.pp > 1:
        total = total + (scenario.pp - 1) * p2p_send_time(
            d=d, size_bytes=p.tokens * model.hidden * scenario.activation_precision.bytes)
    kinds = matrix_kinds()
    # every context average of the pass in one batch; an operator without matrix products
    # puts no work on the matrix units (adding its zeros would change no bit)
    means = iter(weighted_sums(
        [times[op.name] for op in ops] + [total]
        + [costs[op.name].hbm_bytes for op in ops]
        + [costs[op.name].sram_bytes for op in ops]
        + [costs[op.name].shares[k.name] * mf
           for op, mf in zip(p.matrix_ops, p.matrix_flops, strict=True) for k in kinds],
        weights, n=d.n))
    op_times = {op.name: next(means) for op in ops}
    span = next(means)
    op_bytes = {op.name: next(means) * reps[op.name] for op in ops}
    op_sram_bytes = {op.name: next(means) * reps[op.name] for op in ops}
    work: dict[str, Any] = {k.name: 0.0 for k in kinds}
    for op in p.matrix_ops:
        for k in kinds:
            work[k.name] = work[k.name] + next(means) * reps[op.name]
    class_times: dict[str, np.ndarray] = {}
    for op in ops:
        key = p.op_class[op.name]
        class_times[key] = class_times.get(key, 0.0) + op_times[op.name]
    mid = weights.shape[0] // 2
    shape = (d.n, weights.shape[0])
    return StageResult(
        time=span,
        op_times=op_times,
        op_flops=dict(p.flops),
        op_bytes=op_bytes,
        op_sram_bytes=op_sram_bytes,
        op_comm_bytes=dict(p.comm_bytes),
        op_bound=dict(zip(costs, bounds_at(list(costs.values()), shape=shape, column=mid),
                          strict=True)),
        op_class=dict(p.op_class),
        class_times=class_times,
        utilisation=_utilisation(d=d, rate=rate, span=span, work=work,
                                 vector_work=p.vector_work, op_bytes=op_bytes),
        flops=float(sum(p.flops.values())),
    )


def weighted_sum(a: np.ndarray, weights: np.ndarray, *, n: int) -> np.ndarray:
    """Per design, the sum over contexts of ``a * weights`` (``a`` broadcast to (n, k)), in
    exactly the order of ``np.sum(..., axis=1)``, so bit for bit the same.

    Not a matrix-vector product: BLAS sums differently for one row than for many, and a
    design must get the same bits alone or in a population. The products are laid out
    contexts-first, so every step below is one pass over contiguous designs instead of n
    short reductions of k elements.
    """
    k = weights.shape[0]
    terms = np.empty((k, n))
    np.multiply(np.broadcast_to(a, (n, k)).T, weights[:, None], out=terms)
    return _pairwise_rows(terms)


# Elements of one block of the batched context sums: its partial sums stay in the caches.
_BLOCK = 32768


def weighted_sums(arrays: list[Any], weights: np.ndarray, *, n: int) -> list[np.ndarray]:
    """:func:`weighted_sum` of each of ``arrays``, bit for bit, in one batch.

    An array that does not vary over contexts (last axis 1) has the product rows
    ``a * w_j``, made block by block from the one column instead of laid out in full; a
    column with the same bits for every design is summed once. The others are summed one
    by one.
    """
    out: list[Any] = [None] * len(arrays)
    flat = [i for i, a in enumerate(arrays) if np.ndim(a) == 0 or np.shape(a)[-1] == 1]
    if flat:
        cols = np.stack([a[:, 0] if np.shape(a) == (n, 1) else np.broadcast_to(a, (n, 1))[:, 0]
                         for a in (arrays[i] for i in flat)])
        bits = cols.view(np.int64)
        same = (bits == bits[:, :1]).all(axis=1)
        sums = np.empty_like(cols)
        if same.any():
            sums[same] = _pairwise_scaled(cols[same, 0], weights)[:, None]
        if not same.all():
            x = cols[~same].reshape(-1)
            varying = np.empty_like(x)
            for lo in range(0, x.shape[0], _BLOCK):
                varying[lo:lo + _BLOCK] = _pairwise_scaled(x[lo:lo + _BLOCK], weights)
            sums[~same] = varying.reshape(-1, n)
        for row, i in enumerate(flat):
            out[i] = sums[row]
    for i, a in enumerate(arrays):
        if out[i] is None:
            out[i] = weighted_sum(a, weights, n=n)
    return out


def _pairwise_scaled(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:func:`_pairwise_rows` of the rows ``x * w[j]``, each made when it is added."""
    k = w.shape[0]
    if k < 8:
        total = np.zeros(x.shape[0])
        for wj in w:
            total = total + x * wj
        return total
    if k > 128:
        half = k // 2 - (k // 2) % 8
        return _pairwise_scaled(x, w[:half]) + _pairwise_scaled(x, w[half:])
    r = np.multiply(w[0:8, None], x)
    step = np.empty_like(r)
    end = k - k % 8
    for i in range(8, end, 8):
        r += np.multiply(w[i:i + 8, None], x, out=step)
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for wj in w[end:]:
        total = total + x * wj
    return total


def _pairwise_rows(p: np.ndarray) -> np.ndarray:
    """Sum of the rows of ``p`` in numpy's pairwise order for a contiguous reduction: fewer
    than 8 terms one by one; up to 128 in 8 interleaved partial sums joined as a tree
    (then the remainder one by one); more split in two at a multiple of 8."""
    k = p.shape[0]
    if k < 8:
        total = np.zeros(p.shape[1])
        for row in p:
            total = total + row
        return total
    if k > 128:
        half = k // 2 - (k // 2) % 8
        return _pairwise_rows(p[:half]) + _pairwise_rows(p[half:])
    r = p[0:8].copy()
    end = k - k % 8
    for i in range(8, end, 8):
        r += p[i:i + 8]
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for row in p[end:]:
        total = total + row
    return total


def _sent_bytes(payload: Any, p: int) -> float:
    """Bytes one chip sends in a ring all-reduce of ``payload`` bytes over p chips."""
    return 2.0 * (p - 1) / p * payload if p > 1 else 0.0


def _utilisation(*, d, rate, span, work, vector_work, op_bytes) -> dict[str, np.ndarray]:
    """Achieved work over peak work during the pass, per unit kind (and HBM bandwidth)."""
    kinds = matrix_kinds()
    peaks = {k.name: 2.0 * k.macs_per_cycle(d) * d.clock_hz * rate[:, 0] for k in kinds}
    vu_peak = d.vu_count * d.vu_lanes * d.clock_hz
    hbm: Any = 0.0
    for b in op_bytes.values():
        hbm = hbm + b
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {k: np.where(peaks[k] > 0, work[k] / (peaks[k] * span), 0.0) for k in peaks}
        out[VECTOR_UNIT] = vector_work / (vu_peak * span)
        out[HBM] = hbm / (d.hbm_bw * span)
    return out


def check_supported(*, hardware: HardwareSpec, scenario: Scenario) -> None:
    """Raise a clear error when the hardware cannot run the scenario at all."""
    chip = hardware.chip
    for what, p in (("weight/activation", scenario.compute_precision),
                    ("kv", scenario.kv_precision)):
        if p not in chip.precisions:
            raise InfeasibleError(
                f"hardware '{hardware.name}' does not support {what} precision {p.value} "
                f"(supported: {', '.join(x.value for x in chip.precisions)})",
                field="precision", value=p.value)
    if scenario.chips > hardware.system.chips:
        # name the degree that alone overshoots (pp for --pp 33), else both
        field = ("pp" if scenario.pp > hardware.system.chips >= scenario.tp else
                 "tp" if scenario.tp > hardware.system.chips >= scenario.pp else "tp x pp")
        raise InfeasibleError(
            f"the scenario needs tp {scenario.tp} x pp {scenario.pp} = {scenario.chips} chips "
            f"but '{hardware.name}' has system.chips = {hardware.system.chips}", field=field,
            value=None)
