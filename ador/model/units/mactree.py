"""MAC trees (``kind: mac_tree``): GEMV datapaths reducing ``tree_width`` products per lane.

Owns the ``mt_*`` fields of :class:`~ador.model.design.DesignArrays` (from the
:class:`~ador.spec.hardware.MacTree` spec), the time and global-buffer traffic of a matrix
product, the MACs per cycle and the operand reads per MAC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ador.model.arrays import cdiv as _cdiv
from ador.model.arrays import col, per_group
from ador.model.design import DesignArrays
from ador.spec.hardware import MacTree
from ador.workload.operators import MatMul


def row(unit: Any) -> dict[str, Any]:
    """The ``mt_*`` design fields of a MacTree spec (None: no trees)."""
    mt = unit if isinstance(unit, MacTree) else None
    return {
        "mt_count": mt.count if mt else 0,
        "mt_lanes": mt.lanes if mt else 1,
        "mt_tree_width": mt.tree_width if mt else 1,
        "mt_local_buffer_bytes": (mt.local_buffer_bytes or 0) if mt else 0,
    }


def mactree_time(*, d: DesignArrays, mm: MatMul, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds on the MAC-tree group (inf where there is none) and SRAM bytes moved.

    A tree computes ``lanes`` outputs of one token at a time, reducing ``tree_width``
    products per lane per cycle: a block of lanes outputs over K takes ceil(K / width)
    cycles. Work items (token x block of lanes outputs) are spread over the trees; the
    adder-tree depth log2(width) is paid once. Weights of a block are held in the tree's
    buffer while all tokens pass, so skinny GEMMs reuse them.
    """
    cycles, sram_bytes = per_group(d, ("mt_count", "mt_lanes", "mt_tree_width"),
                                   lambda count, lanes, width: _cycles_and_bytes(
                                       mm, count=count, lanes=lanes, width=width))
    seconds = cycles / (col(d.clock_hz) * rate)
    count = col(d.mt_count)
    if not (count > 0).all():
        seconds = np.where(count > 0, seconds, np.inf)
    return seconds, sram_bytes


def _cycles_and_bytes(mm: MatMul, *, count: np.ndarray, lanes: np.ndarray, width: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    items = mm.m * _cdiv(mm.n, lanes) * mm.groups
    cycles = np.ceil(items / np.maximum(count, 1)) * _cdiv(mm.k, width) + np.log2(width)
    elems = (mm.n * mm.k + mm.m * mm.k * np.ceil(_cdiv(mm.n, lanes) / np.maximum(count, 1))
             + mm.m * mm.n) * mm.groups
    return cycles, elems * 2.0



class MacTreeKind:
    """The MAC-tree kind behind the matrix-unit interface (ador.model.units)."""

    name = "mac_tree"

    def time(self, *, d: DesignArrays, mm: MatMul, rate: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        return mactree_time(d=d, mm=mm, rate=rate)

    def count(self, d: DesignArrays) -> np.ndarray:
        return d.mt_count

    def macs_per_cycle(self, d: DesignArrays) -> np.ndarray:
        return d.mt_count * d.mt_lanes * d.mt_tree_width

    def local_buffer_bytes(self, d: DesignArrays) -> np.ndarray:
        return d.mt_local_buffer_bytes

    def operand_reads_per_mac(self, d: DesignArrays) -> np.ndarray:
        """One weight per MAC and one activation per lane-row."""
        return 1.0 + 1.0 / d.mt_lanes


KIND = MacTreeKind()
