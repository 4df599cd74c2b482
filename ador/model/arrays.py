"""Helpers for design arrays: columns that broadcast against operator-shape vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def col(a: np.ndarray) -> np.ndarray:
    """Design array as a column so that it broadcasts against operator-shape vectors."""
    return a[:, None] if a.ndim == 1 else a


def cdiv(a: Any, b: Any) -> np.ndarray:
    """Ceiling of a / b as float64 arrays."""
    return np.ceil(np.asarray(a, dtype=np.float64) / b)


# Below this many designs, or with more than one group per GROUPED_FRACTION of them, a
# computation runs on every design directly (grouping would cost more than it saves).
MIN_GROUPED = 256
GROUPED_FRACTION = 4


def per_group(d: Any, names: tuple[str, ...], compute: Callable[..., tuple[Any, ...]]
              ) -> tuple[Any, ...]:
    """``compute`` of the design columns ``names`` (each (n, 1)), run once per group of
    designs with the same bits in them (:meth:`DesignArrays.distinct`) and gathered back
    to one row per design: bit for bit what it gives on every design, with far less work
    where a large population has few distinct values of these fields (unit geometries)."""
    columns = [col(getattr(d, f)) for f in names]
    if d.n < MIN_GROUPED:
        return compute(*columns)
    first, group = d.distinct(names)
    if first.shape[0] * GROUPED_FRACTION > d.n:
        return compute(*columns)
    out = compute(*(c[first] for c in columns))
    return tuple(np.take(o, group, axis=0) if np.ndim(o) == 2 and o.shape[0] == first.shape[0]
                 else o for o in out)


__all__ = ["cdiv", "col", "per_group"]
