"""Compute time of matrix and vector work on each unit class, vectorized over designs.

Design fields arrive as column arrays of shape (n, 1); operator shapes are scalars or arrays
of shape (k,) (decode contexts), so results broadcast to (n, k). All functions are pure.
"""

from __future__ import annotations

import numpy as np

from ador.model.design import MAX_TILES, DesignArrays
from ador.workload.operators import MatMul

SPLIT_K_CHOICES = (1, 2, 4, 8, 16)


def col(a: np.ndarray) -> np.ndarray:
    """Design array as a column so that it broadcasts against operator-shape vectors."""
    return a[:, None] if a.ndim == 1 else a


def _cdiv(a, b):
    return np.ceil(np.asarray(a, dtype=np.float64) / b)


def systolic_ws_cycles(*, d: DesignArrays, mm: MatMul) -> np.ndarray:
    """Cycles of a weight-stationary array group for ``mm``.

    The K x N weight matrix is cut into rows x cols tiles; each tile is pinned in one array
    and the M activation rows stream through it. Per tile: max(M, rows) cycles to stream
    (the next tile's weights, rows cycles to shift in, load while the current tile streams)
    plus rows + cols cycles of fill and drain. Tiles are spread over the arrays in waves, so
    a GEMV (M = 1) keeps a 128 x 128 array busy for ~1/384 of the time: edge
    under-utilisation that MAC trees avoid.
    """
    rows, cols, count = col(d.sa_rows), col(d.sa_cols), col(d.sa_count)
    tiles = _cdiv(mm.k, rows) * _cdiv(mm.n, cols) * mm.groups
    waves = np.ceil(tiles / np.maximum(count, 1))
    per_tile = np.maximum(mm.m, rows) + rows + cols
    return waves * per_tile


def systolic_os_cycles(*, d: DesignArrays, mm: MatMul) -> tuple[np.ndarray, np.ndarray]:
    """Cycles of an output-stationary array group, best over candidate tiles and split-K.

    Each output tile (tile_rows x tile_cols) is accumulated by one array over K / split
    steps, taking ceil(tile area / PEs) cycles per K step plus rows + cols fill/drain.
    Tiles are issued in waves over the arrays (wave quantisation). Smaller tiles fill more
    arrays but re-read operands more often from the global buffer: the second return value
    is the global-buffer traffic in elements of the chosen schedule, so the caller can bound
    the time by SRAM bandwidth.
    Returns (cycles, sram_elements) of the fastest candidate (by the larger of compute and
    SRAM-bandwidth cycles).
    """
    rows, cols, count = col(d.sa_rows), col(d.sa_cols), np.maximum(col(d.sa_count), 1)
    pes = rows * cols
    sram_elems_per_cycle = col(d.sram_bw) / col(d.clock_hz) / 2.0  # 2-byte elements
    best_cycles = best_elems = None
    best_cost = None
    for t in range(MAX_TILES):
        tr = col(d.sa_tile_rows[:, t])
        tc = col(d.sa_tile_cols[:, t])
        tiles = _cdiv(mm.m, tr) * _cdiv(mm.n, tc) * mm.groups
        elems = ((mm.m * mm.k * _cdiv(mm.n, tc) + mm.n * mm.k * _cdiv(mm.m, tr)) * mm.groups
                 / col(d.sa_multicast))
        for split in SPLIT_K_CHOICES:
            allowed = split <= col(d.sa_max_split_k)
            waves = np.ceil(tiles * split / count)
            k_steps = _cdiv(mm.k, split)
            cycles = waves * (np.ceil(tr * tc / pes) * k_steps + rows + cols)
            # split-K writes and re-reads partial output tiles once per extra split
            extra = (split - 1) * 2.0 * mm.m * mm.n * mm.groups
            cost = np.maximum(cycles, (elems + extra) / sram_elems_per_cycle)
            cost = np.where(allowed, cost, np.inf)
            if best_cost is None:
                best_cost, best_cycles, best_elems = cost, cycles, elems + extra
            else:
                better = cost < best_cost
                best_cost = np.where(better, cost, best_cost)
                best_cycles = np.where(better, cycles, best_cycles)
                best_elems = np.where(better, elems + extra, best_elems)
    return best_cycles, best_elems


def systolic_time(*, d: DesignArrays, mm: MatMul, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds on the systolic-array group (inf where there is none) and SRAM bytes moved.

    ``rate`` is the per-design throughput multiplier of the compute precision (fp8: 2x).
    """
    is_os = col(d.sa_output_stationary) > 0
    # Each dataflow's schedule is only computed when some design in the population uses it.
    ws = systolic_ws_cycles(d=d, mm=mm) if not is_os.all() else 0.0
    os_cycles, os_elems = systolic_os_cycles(d=d, mm=mm) if is_os.any() else (0.0, 0.0)
    cycles = np.where(is_os, os_cycles, ws)
    # weight-stationary: weights once, activations broadcast to the arrays that share a
    # K block, outputs once.
    ws_elems = (mm.n * mm.k + mm.m * mm.k * np.ceil(
        _cdiv(mm.n, col(d.sa_cols)) / np.maximum(col(d.sa_count), 1)) + mm.m * mm.n) * mm.groups
    elems = np.where(is_os, os_elems, ws_elems)
    seconds = cycles / (col(d.clock_hz) * rate)
    seconds = np.where(col(d.sa_count) > 0, seconds, np.inf)
    return seconds, elems * 2.0


def mactree_time(*, d: DesignArrays, mm: MatMul, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds on the MAC-tree group (inf where there is none) and SRAM bytes moved.

    A tree computes ``lanes`` outputs of one token at a time, reducing ``tree_width``
    products per lane per cycle: a block of lanes outputs over K takes ceil(K / width)
    cycles. Work items (token x block of lanes outputs) are spread over the trees; the
    adder-tree depth log2(width) is paid once. Weights of a block are held in the tree's
    buffer while all tokens pass, so skinny GEMMs reuse them.
    """
    count, lanes, width = col(d.mt_count), col(d.mt_lanes), col(d.mt_tree_width)
    items = mm.m * _cdiv(mm.n, lanes) * mm.groups
    cycles = np.ceil(items / np.maximum(count, 1)) * _cdiv(mm.k, width) + np.log2(width)
    seconds = cycles / (col(d.clock_hz) * rate)
    seconds = np.where(count > 0, seconds, np.inf)
    elems = (mm.n * mm.k + mm.m * mm.k * np.ceil(_cdiv(mm.n, lanes) / np.maximum(count, 1))
             + mm.m * mm.n) * mm.groups
    return seconds, elems * 2.0


def vector_time(*, d: DesignArrays, ops, special) -> np.ndarray:
    """Seconds of elementwise work: lane ops and special functions run in parallel pipes."""
    clock, eff = col(d.clock_hz), col(d.vector_eff)
    lane_rate = col(d.vu_count) * col(d.vu_lanes) * clock * eff
    special_rate = col(d.vu_count) * col(d.vu_special_per_cycle) * clock * eff
    return np.maximum(np.asarray(ops) / lane_rate, np.asarray(special) / special_rate)


def best_matrix_time(t_sa: np.ndarray, t_mt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fastest of: systolic arrays alone, MAC trees alone, or the work split between both in
    proportion to their speed (both classes busy, finishing together).

    Returns (seconds, share of the work on systolic arrays).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        split = np.where(np.isfinite(t_sa) & np.isfinite(t_mt), t_sa * t_mt / (t_sa + t_mt),
                         np.minimum(t_sa, t_mt))
        share_sa = np.where(np.isfinite(t_sa),
                            np.where(np.isfinite(t_mt), t_mt / (t_sa + t_mt), 1.0), 0.0)
    return split, share_sa
