"""Pareto fronts and normalised hypervolume of minimised objective sets.

Objectives are scaled so that ``ideal`` maps to 0 and ``nadir`` to 1 in each dimension and
the hypervolume is taken against the reference point 1.1 in every dimension: a front equal
to the single ideal point scores 1.1^m, and the numbers of two runs compare when they use
the same ideal and nadir.
"""

from __future__ import annotations

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

REFERENCE = 1.1


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """True for the non-dominated rows of ``F`` (duplicates all kept)."""
    F = np.asarray(F, dtype=float)
    mask = np.zeros(F.shape[0], dtype=bool)
    if F.shape[0] == 0:
        return mask
    front = NonDominatedSorting().do(F, only_non_dominated_front=True)
    mask[np.asarray(front, dtype=int)] = True
    return mask


def bounds(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ideal and nadir of the Pareto front of ``F`` (degenerate spans widened to 1)."""
    front = F[pareto_mask(F)]
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    nadir = np.where(nadir > ideal, nadir, ideal + np.maximum(np.abs(ideal), 1.0))
    return ideal, nadir


def hypervolume(F: np.ndarray, *, ideal: np.ndarray, nadir: np.ndarray) -> float:
    """Normalised hypervolume of the points of ``F`` (only those inside the reference box
    count)."""
    F = np.asarray(F, dtype=float)
    if F.shape[0] == 0:
        return 0.0
    Z = (F - ideal) / (nadir - ideal)
    Z = Z[np.all(Z < REFERENCE, axis=1)]
    if Z.shape[0] == 0:
        return 0.0
    Z = Z[pareto_mask(Z)]
    return float(HV(ref_point=np.full(F.shape[1], REFERENCE))(Z))


def fixed_hypervolume(F: np.ndarray, *, scale: np.ndarray, point: np.ndarray) -> float:
    """Hypervolume of the points of ``F`` (minimised) divided by ``scale``, against the
    reference ``point / scale``; objectives whose reference is infinite are left out."""
    F = np.asarray(F, dtype=float)
    keep = np.isfinite(point)
    if F.shape[0] == 0 or not keep.any():
        return 0.0
    Z = F[:, keep] / scale[keep]
    ref = point[keep] / scale[keep]
    Z = Z[np.all(ref > Z, axis=1)]
    if Z.shape[0] == 0:
        return 0.0
    Z = Z[pareto_mask(Z)]
    return float(HV(ref_point=ref)(Z))


def history(F: np.ndarray, feasible: np.ndarray, batches: np.ndarray, *, scale: np.ndarray,
            point: np.ndarray) -> list[dict]:
    """Hypervolume of the feasible designs seen after each batch, in evaluation order."""
    rows = []
    order = np.asarray(batches)
    for b in np.unique(order):
        seen = order <= b
        mask = seen & feasible
        rows.append({"evaluations": int(seen.sum()), "feasible": int(mask.sum()),
                     "hypervolume": fixed_hypervolume(F[mask], scale=scale, point=point)})
    return rows
