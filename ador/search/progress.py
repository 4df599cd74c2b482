"""A rich progress bar for searches: evaluations, feasible count, best so far, hypervolume."""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ador.metrics import BY_COLUMN
from ador.search.archive import Archive
from ador.units import format_quantity


class SearchProgress:
    """Context manager; ``update(archive)`` after each evaluated batch. Silent when
    ``enabled`` is False (library use, tests).

    The hypervolume shown is taken against the problem's fixed reference
    (:mod:`ador.search.reference`), the same as hypervolume.csv's.
    """

    def __init__(self, *, total: int, label: str, enabled: bool = True,
                 console: Console | None = None) -> None:
        self.enabled = enabled
        self.total = total
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("feasible {task.fields[feasible]}"),
            TextColumn("best {task.fields[best]}"), TextColumn("HV {task.fields[hv]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False,
            disable=not enabled)
        self._task = self._progress.add_task(label, total=total, feasible=0, best="-", hv="-")

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def update(self, archive: Archive) -> None:
        if not self.enabled:
            return
        best = archive.best()
        if best is None:
            text = "-"
        else:
            m = BY_COLUMN[best[0]]
            text = format_quantity(best[1] * m.scale, m.unit) if m.unit else f"{best[1]:.4g}"
        self._progress.update(self._task, completed=min(archive.n, self.total),
                              feasible=int(archive.feasible.sum()), best=text,
                              hv=f"{archive.live_hypervolume():.3g}")
