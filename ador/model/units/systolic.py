"""Systolic arrays (``kind: systolic_array``): weight- or output-stationary matrix units.

Owns the ``sa_*`` fields of :class:`~ador.model.design.DesignArrays` (from the
:class:`~ador.spec.hardware.SystolicArray` spec), the time and global-buffer traffic of a
matrix product, the MACs per cycle (area, peak power, utilisation) and the operand reads
per MAC (energy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ador.model.arrays import cdiv as _cdiv
from ador.model.arrays import col, per_group
from ador.model.design import MAX_TILES, DesignArrays
from ador.spec.hardware import Dataflow, SystolicArray
from ador.workload.operators import MatMul

SPLIT_K_CHOICES = (1, 2, 4, 8, 16)


def row(unit: Any) -> dict[str, Any]:
    """The ``sa_*`` design fields of a SystolicArray spec (None: no arrays)."""
    sa = unit if isinstance(unit, SystolicArray) else None
    tiles = _tiles(sa)
    return {
        "sa_count": sa.count if sa else 0,
        "sa_rows": sa.rows if sa else 1,
        "sa_cols": sa.cols if sa else 1,
        "sa_output_stationary": float(sa is not None
                                      and sa.dataflow is Dataflow.OUTPUT_STATIONARY),
        "sa_tile_rows": [t[0] for t in tiles],
        "sa_tile_cols": [t[1] for t in tiles],
        "sa_max_split_k": sa.max_split_k if sa else 1,
        "sa_multicast": sa.operand_multicast if sa else 1,
        "sa_local_buffer_bytes": sa.local_buffer_bytes if sa else 0,
    }


def _tiles(sa: SystolicArray | None) -> list[tuple[int, int]]:
    if sa is None:
        tiles = [(1, 1)]
    elif sa.dataflow is Dataflow.OUTPUT_STATIONARY:
        tiles = [(t[0], t[1]) for t in sa.output_tiles] or [(sa.rows, sa.cols)]
    else:
        tiles = [(sa.rows, sa.cols)]
    return (tiles + [tiles[0]] * MAX_TILES)[:MAX_TILES]


def systolic_ws_cycles(*, d: DesignArrays, mm: MatMul) -> np.ndarray:
    """Cycles of a weight-stationary array group for ``mm``.

    The K x N weight matrix is cut into rows x cols tiles; each tile is pinned in one array
    and the M activation rows stream through it. Per tile: max(M, rows) cycles to stream
    (the next tile's weights, rows cycles to shift in, load while the current tile streams)
    plus rows + cols cycles of fill and drain. Tiles are spread over the arrays in waves, so
    a GEMV (M = 1) keeps a 128 x 128 array busy for ~1/384 of the time: edge
    under-utilisation that MAC trees avoid.
    """
    return per_group(d, _GEOMETRY, lambda rows, cols, count: (
        _ws_cycles(mm, rows=rows, cols=cols, count=count),))[0]


_GEOMETRY = ("sa_rows", "sa_cols", "sa_count")


def _ws_cycles(mm: MatMul, *, rows: np.ndarray, cols: np.ndarray, count: np.ndarray
               ) -> np.ndarray:
    tiles = _cdiv(mm.k, rows) * _cdiv(mm.n, cols) * mm.groups
    waves = np.ceil(tiles / np.maximum(count, 1))
    per_tile = np.maximum(mm.m, rows) + rows + cols
    return waves * per_tile


def _ws_elems(mm: MatMul, *, cols: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Weight-stationary global-buffer elements: weights once, activations broadcast to the
    arrays that share a K block, outputs once."""
    return (mm.n * mm.k + mm.m * mm.k * np.ceil(_cdiv(mm.n, cols) / np.maximum(count, 1))
            + mm.m * mm.n) * mm.groups


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
    assert best_cycles is not None and best_elems is not None
    return best_cycles, best_elems


def systolic_time(*, d: DesignArrays, mm: MatMul, rate: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Seconds on the systolic-array group (inf where there is none) and SRAM bytes moved.

    ``rate`` is the per-design throughput multiplier of the compute precision (fp8: 2x).
    """
    is_os = col(d.sa_output_stationary) > 0
    any_os = bool(is_os.any())
    all_os = any_os and bool(is_os.all())
    # Each dataflow's schedule is only computed when some design in the population uses it.
    ws, ws_elems = per_group(d, _GEOMETRY, lambda rows, cols, count: (
        _ws_cycles(mm, rows=rows, cols=cols, count=count),
        _ws_elems(mm, cols=cols, count=count))) if not all_os else (0.0, 0.0)
    os_cycles, os_elems = systolic_os_cycles(d=d, mm=mm) if any_os else (0.0, 0.0)
    cycles = _pick(is_os, any_os=any_os, all_os=all_os, os_value=os_cycles, ws_value=ws)
    elems = _pick(is_os, any_os=any_os, all_os=all_os, os_value=os_elems, ws_value=ws_elems)
    seconds = cycles / (col(d.clock_hz) * rate)
    present = col(d.sa_count) > 0
    if not present.all():
        seconds = np.where(present, seconds, np.inf)
    return seconds, elems * 2.0


def _pick(is_os: np.ndarray, *, any_os: bool, all_os: bool, os_value, ws_value) -> np.ndarray:
    """``np.where(is_os, os_value, ws_value)``, without the copy when one dataflow is used
    throughout (the same array, so the same bits)."""
    chosen = os_value if all_os else ws_value if not any_os else None
    if chosen is not None and np.shape(chosen) == np.broadcast_shapes(
            is_os.shape, np.shape(os_value), np.shape(ws_value)):
        return np.asarray(chosen, dtype=np.float64)
    return np.where(is_os, os_value, ws_value)




class SystolicKind:
    """The systolic-array kind behind the matrix-unit interface (ador.model.units)."""

    name = "systolic_array"

    def time(self, *, d: DesignArrays, mm: MatMul, rate: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        return systolic_time(d=d, mm=mm, rate=rate)

    def count(self, d: DesignArrays) -> np.ndarray:
        return d.sa_count

    def macs_per_cycle(self, d: DesignArrays) -> np.ndarray:
        return d.sa_count * d.sa_rows * d.sa_cols

    def local_buffer_bytes(self, d: DesignArrays) -> np.ndarray:
        return d.sa_local_buffer_bytes

    def operand_reads_per_mac(self, d: DesignArrays) -> np.ndarray:
        """A rows x cols array reads rows + cols operands per cycle for rows x cols MACs."""
        return (d.sa_rows + d.sa_cols) / (d.sa_rows * d.sa_cols)


KIND = SystolicKind()
