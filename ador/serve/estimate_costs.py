"""Iteration-time pieces of many designs at once, for the analytical serving estimate.

The same cost pieces as ``ador.serve.steptime`` (token-proportional operators, sampling
tail, fused decode attention, prefill attention), evaluated for every design row of a
``DesignArrays`` on one shared token grid, so that the estimate interpolates them with
indices computed once for all designs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ador.model.design import DesignArrays
from ador.model.interconnect import p2p_send_time
from ador.serve.steptime import _scale, pass_times_all
from ador.spec.model import ModelSpec
from ador.spec.precision import RATE_VS_FP16
from ador.spec.scenario import Scenario
from ador.workload.operators import OpClass
from ador.workload.transformer import decode_ops, prefill_attention, prefill_ops, shard

EXACT_POINTS = 32  # every integer token count up to this ...
GRID_RATIO = 1.08  # ... then geometric (8 %: the token-proportional time is near affine)


def token_grid(top: float) -> np.ndarray:
    """Every integer to ``EXACT_POINTS``, then rounded powers of ``GRID_RATIO`` past ``top``."""
    k = int(np.ceil(np.log(max(top, EXACT_POINTS) / EXACT_POINTS) / np.log(GRID_RATIO))) + 2
    geo = np.round(EXACT_POINTS * GRID_RATIO ** np.arange(1, k))
    return np.unique(np.concatenate([np.arange(1, EXACT_POINTS + 1), geo])).astype(np.float64)


@dataclass(frozen=True)
class CostTables:
    """Seconds per whole pass (pipeline stages in series) on ``grid`` token counts, one row
    per design: token-proportional part at T tokens (``dense``), sampling tail at T rows
    (``tail``), fused decode attention of T requests at the workload's mean context
    (``decode``), prefill attention of one prompt of T tokens alone (``prefill_attn``)."""

    grid: np.ndarray
    dense: np.ndarray
    tail: np.ndarray
    decode: np.ndarray
    prefill_attn: np.ndarray
    attn_overhead_s: np.ndarray  # one fused attention kernel's fixed time, whole pass

    @staticmethod
    def stack(parts: list[tuple[np.ndarray, CostTables]], n: int) -> CostTables:
        """Tables of design groups (row indices, tables) placed back in design order."""
        grid = parts[0][1].grid
        out = {}
        for name in ("dense", "tail", "decode", "prefill_attn"):
            a = np.empty((n, grid.shape[0]))
            for rows, t in parts:
                a[rows] = getattr(t, name)
            out[name] = a
        ovh = np.empty(n)
        for rows, t in parts:
            ovh[rows] = t.attn_overhead_s
        return CostTables(grid=grid, attn_overhead_s=ovh, **out)


def no_tables(*, n: int, grid: np.ndarray) -> CostTables:
    """Tables of designs that cannot run the model at their TP x PP: every time infinite."""
    inf = np.full((n, grid.shape[0]), np.inf)
    return CostTables(grid=grid, dense=inf, tail=inf, decode=inf, prefill_attn=inf,
                      attn_overhead_s=np.full(n, np.inf))


def cost_tables(*, d: DesignArrays, model: ModelSpec, tp: int, pp: int, precision: str,
                grid: np.ndarray, decode_context: float) -> CostTables:
    """The pieces for designs ``d`` (all at the same TP x PP) on ``grid``."""
    scen = Scenario.uniform(precision=precision, batch=1, input_len=1, output_len=2, tp=tp,
                            pp=pp)
    rate = np.full((d.n, 1), RATE_VS_FP16[scen.compute_precision])
    one = [op for op in prefill_ops(model, scen) if op.op_class is not OpClass.ATTENTION]
    body = pass_times_all(d=d, ops=[_scale(op, grid) for op in one if not op.last_token],
                          rate=rate, scenario=scen)
    dense = sum(body.values()) + np.zeros((d.n, grid.shape[0]))
    if pp > 1:
        size = grid * model.hidden * scen.activation_precision.bytes
        dense = dense + (pp - 1) * np.asarray(p2p_send_time(d=d, size_bytes=size))
    tail = pass_times_all(d=d, ops=[_scale(op, grid) for op in one if op.last_token],
                          rate=rate, scenario=scen)
    tail_s = sum(tail.values()) + np.zeros_like(dense)
    ctx = np.full(grid.shape, float(max(decode_context, 1.0)))
    dec = next(op for op in decode_ops(model, scen, ctx) if op.op_class is OpClass.ATTENTION)
    decode = pass_times_all(d=d, ops=[_scale(dec, grid)], rate=rate,
                            scenario=scen)["attention"] + np.zeros_like(dense)
    s = shard(model, scen)
    pre = prefill_attention(s, batch=1, seq=grid, prior=np.zeros_like(grid))
    attn = pass_times_all(d=d, ops=[pre], rate=rate, scenario=scen)["attention"]
    return CostTables(grid=grid, dense=dense, tail=tail_s, decode=decode,
                      prefill_attn=attn + np.zeros_like(dense),
                      attn_overhead_s=d.kernel_overhead_s * s.layers * pp)


def locate(grid: np.ndarray, x) -> tuple[np.ndarray, np.ndarray]:
    """Index of the grid interval holding each ``x`` and the linear weight in it (clamped
    to the grid's ends)."""
    x = np.clip(np.asarray(x, dtype=np.float64), grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.shape[0] - 2)
    return i, (x - grid[i]) / (grid[i + 1] - grid[i])


def at_shared(table: np.ndarray, grid: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``table`` (designs x grid) at points ``x`` (m,) shared by every design: (n, m)."""
    i, w = locate(grid, x)
    return table[:, i] * (1.0 - w) + table[:, i + 1] * w


def at_rows(table: np.ndarray, grid: np.ndarray, x) -> np.ndarray:
    """``table`` (designs x grid) at points ``x`` of shape (n,) or (n, k): each design row
    at its own points."""
    x = np.asarray(x, dtype=np.float64)
    i, w = locate(grid, x)
    flat_i = i.reshape(table.shape[0], -1)
    lo = np.take_along_axis(table, flat_i, axis=1)
    hi = np.take_along_axis(table, flat_i + 1, axis=1)
    ww = w.reshape(flat_i.shape)
    return (lo * (1.0 - ww) + hi * ww).reshape(x.shape)
