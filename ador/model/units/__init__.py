"""Compute-unit kinds, one module each, behind one interface.

A matrix kind (systolic arrays, MAC trees) gives, for a population of designs, the time and
global-buffer bytes of a matrix product (``time``), its unit count, MACs per cycle (area,
peak power, utilisation), local-buffer bytes per unit (area) and operand reads per MAC
(energy). The cost model runs matrix work on every kind a design has, split in proportion
to their speed (:func:`best_matrix_time`); area, power and utilisation sum over
:data:`MATRIX_KINDS`. The vector unit runs elementwise work (:mod:`.vector`).

Adding a kind: its spec model in ``ador.spec.hardware`` (one class, one entry of the unit
union), its design fields in ``DesignArrays`` and a module here with ``row`` and a kind
object, listed in :data:`MATRIX_KINDS`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ador.model.design import DesignArrays
from ador.model.units import mactree, systolic
from ador.workload.operators import MatMul


class MatrixKind(Protocol):
    name: str

    def time(self, *, d: DesignArrays, mm: MatMul, rate: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]: ...

    def count(self, d: DesignArrays) -> np.ndarray: ...

    def macs_per_cycle(self, d: DesignArrays) -> np.ndarray: ...

    def local_buffer_bytes(self, d: DesignArrays) -> np.ndarray: ...

    def operand_reads_per_mac(self, d: DesignArrays) -> np.ndarray: ...


MATRIX_KINDS: tuple[MatrixKind, ...] = (systolic.KIND, mactree.KIND)


def matrix_kinds() -> tuple[MatrixKind, ...]:
    """The matrix kinds in use (read at call time, so that a kind can be added)."""
    return MATRIX_KINDS


def best_matrix_time(times: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Matrix work split over every kind present (finite time), in proportion to speed, all
    finishing together; a kind that is absent (inf) gets none.

    Returns (seconds, share of the work on each kind); shares sum to one.
    """
    total = times[0]
    shares: list[np.ndarray] | None = None  # None: all work on the first kind so far
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in times[1:]:
            if shares is None:
                both = total + t
                if np.isfinite(both).all():
                    # both kinds on every design (a finite sum has finite parts): the
                    # branches below reduce to these, bit for bit
                    total, shares = total * t / both, [t / both]
                    shares.append(1.0 - shares[0])
                    continue
            both = np.isfinite(total) & np.isfinite(t)
            split = np.where(both, total * t / (total + t), np.minimum(total, t))
            keep = np.where(np.isfinite(total), np.where(np.isfinite(t), t / (total + t), 1.0),
                            0.0)
            shares = [keep] if shares is None else [s * keep for s in shares]
            total = split
            shares.append(1.0 - keep)
    if shares is None:
        shares = [np.ones_like(total)]
    return total, shares


__all__ = ["MATRIX_KINDS", "MatrixKind", "best_matrix_time", "matrix_kinds"]


