"""Compute time of matrix and vector work, vectorized over designs: the kinds' functions
(:mod:`ador.model.units`) under their established names.

Design fields arrive as column arrays of shape (n, 1); operator shapes are scalars or arrays
of shape (k,) (decode contexts), so results broadcast to (n, k). All functions are pure.
"""

from __future__ import annotations

import numpy as np

from ador.model import units
from ador.model.arrays import col
from ador.model.units.mactree import mactree_time
from ador.model.units.systolic import (
    SPLIT_K_CHOICES,
    systolic_os_cycles,
    systolic_time,
    systolic_ws_cycles,
)
from ador.model.units.vector import vector_time


def best_matrix_time(t_sa: np.ndarray, t_mt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fastest of: systolic arrays alone, MAC trees alone, or the work split between both in
    proportion to their speed (both classes busy, finishing together).

    Returns (seconds, share of the work on systolic arrays).
    """
    seconds, shares = units.best_matrix_time([t_sa, t_mt])
    return seconds, shares[0]


__all__ = ["SPLIT_K_CHOICES", "best_matrix_time", "col", "mactree_time", "systolic_os_cycles",
           "systolic_time", "systolic_ws_cycles", "vector_time"]
