"""Helpers for design arrays: columns that broadcast against operator-shape vectors."""

from __future__ import annotations

from typing import Any

import numpy as np


def col(a: np.ndarray) -> np.ndarray:
    """Design array as a column so that it broadcasts against operator-shape vectors."""
    return a[:, None] if a.ndim == 1 else a


def cdiv(a: Any, b: Any) -> np.ndarray:
    """Ceiling of a / b as float64 arrays."""
    return np.ceil(np.asarray(a, dtype=np.float64) / b)


__all__ = ["cdiv", "col"]
