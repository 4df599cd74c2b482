"""Exhaustive sweep of a small discrete space, in vectorized chunks."""

from __future__ import annotations

from collections.abc import Callable

from ador.errors import AdorError
from ador.search.archive import Archive

MAX_SWEEP = 1_000_000


def run_sweep(archive: Archive, *, chunk: int = 4096, limit: int = MAX_SWEEP,
              on_batch: Callable[[Archive], None] | None = None) -> int:
    """Evaluate every design of the space; returns how many."""
    space = archive.problem.space
    size = space.size
    if size > limit:
        raise AdorError(f"the space has {size:.3g} designs, more than a sweep evaluates "
                        f"({limit}); use ador explore, or narrow the knobs",
                        file=space.source, field="knobs", value=None)
    X = space.grid()
    for b, start in enumerate(range(0, X.shape[0], chunk)):
        archive.evaluate(X[start:start + chunk], batch=b)
        if on_batch is not None:
            on_batch(archive)
    return int(X.shape[0])
