"""Vector units (``kind: vector_unit``): SIMD lanes and special-function pipes.

Owns the ``vu_*`` fields of :class:`~ador.model.design.DesignArrays` (from the
:class:`~ador.spec.hardware.VectorUnit` spec) and the time of elementwise work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ador.model.arrays import col
from ador.model.design import DesignArrays
from ador.spec.hardware import VectorUnit


def row(unit: Any) -> dict[str, Any]:
    """The ``vu_*`` design fields of a VectorUnit spec (every chip has one)."""
    assert isinstance(unit, VectorUnit)
    return {"vu_count": unit.count, "vu_lanes": unit.lanes,
            "vu_special_per_cycle": unit.special_ops_per_cycle}


def vector_time(*, d: DesignArrays, ops: Any, special: Any) -> np.ndarray:
    """Seconds of elementwise work: lane ops and special functions run in parallel pipes."""
    clock, eff = col(d.clock_hz), col(d.vector_eff)
    lane_rate = col(d.vu_count) * col(d.vu_lanes) * clock * eff
    special_rate = col(d.vu_count) * col(d.vu_special_per_cycle) * clock * eff
    return np.maximum(np.asarray(ops) / lane_rate, np.asarray(special) / special_rate)


