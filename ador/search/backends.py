"""Search backends by name: each adapter runs a search into an archive with one signature.

``BACKENDS[name].run(archive, job)`` evaluates designs into ``archive`` (calling
``job.on_batch`` after each batch) and returns the algorithm it used. A backend also says
how many evaluations a problem asks of it, whether it keeps a study that can be stored and
resumed, and what it checks before a run folder is created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ador.errors import AdorError
from ador.search.archive import Archive
from ador.search.optuna_backend import JOURNAL, run_optuna
from ador.search.pymoo_backend import run_pymoo
from ador.search.runfolder import FILES
from ador.search.space import DesignSpace
from ador.search.sweep import MAX_SWEEP, run_sweep
from ador.search.workers import run_workers
from ador.spec.problem import SearchSettings


@dataclass(frozen=True)
class Job:
    """What a backend needs beyond the archive."""

    settings: SearchSettings
    name: str  # study name
    folder: Path  # the run folder
    resume: bool  # continue a stored study
    on_batch: Callable[[Archive], None] | None = None


def _no_check(space: DesignSpace, settings: SearchSettings) -> None:
    return None


@dataclass(frozen=True)
class Backend:
    run: Callable[[Archive, Job], str]
    evaluations: Callable[[DesignSpace, SearchSettings], int]
    resumable: bool = False  # keeps a study in a storage; ``--resume`` continues it
    check: Callable[[DesignSpace, SearchSettings], None] = _no_check


def _pymoo(archive: Archive, job: Job) -> str:
    s = job.settings
    return run_pymoo(archive, pop_size=s.pop_size, generations=s.generations, seed=s.seed,
                     algorithm=s.algorithm, on_batch=job.on_batch)


def study_storage(job: Job) -> str:
    """The study of record: the given storage URL, else in the run folder study.db, or with
    worker processes the journal file study.journal."""
    if job.settings.storage:
        return job.settings.storage
    path = (job.folder / FILES["study"]).resolve()
    if job.settings.workers is not None:
        return JOURNAL + str(path.with_suffix(".journal")).lstrip("/")
    return f"sqlite:///{path}"


def _optuna(archive: Archive, job: Job) -> str:
    s = job.settings
    if s.workers is not None:
        return run_workers(archive, workers=s.workers, storage=study_storage(job),
                           study_name=job.name, batch_size=s.pop_size, on_batch=job.on_batch)
    return run_optuna(archive, trials=s.evaluations, batch_size=s.pop_size, seed=s.seed,
                      storage=study_storage(job), study_name=job.name,
                      algorithm=s.algorithm, resume=job.resume, on_batch=job.on_batch)


def _sweep(archive: Archive, job: Job) -> str:
    run_sweep(archive, on_batch=job.on_batch)
    return "exhaustive"


def _sweep_size(space: DesignSpace, settings: SearchSettings) -> int:
    return int(min(space.size, 10**9))


def _sweep_check(space: DesignSpace, settings: SearchSettings) -> None:
    if space.size > MAX_SWEEP:
        raise AdorError(f"the space has {space.size:.3g} designs, more than a sweep "
                        f"evaluates ({MAX_SWEEP:,}); use ador explore, or narrow the knobs",
                        file=space.source, field="knobs", value=None)


def _budget(space: DesignSpace, settings: SearchSettings) -> int:
    return settings.evaluations


BACKENDS: dict[str, Backend] = {
    "pymoo": Backend(run=_pymoo, evaluations=_budget),
    "optuna": Backend(run=_optuna, evaluations=_budget, resumable=True),
    "sweep": Backend(run=_sweep, evaluations=_sweep_size, check=_sweep_check),
}


__all__ = ["BACKENDS", "Backend", "Job", "study_storage"]
