"""Optuna backend: NSGA-II or TPE samplers with constraints, on persistent storage.

The study of record lives in ``storage`` (an SQLite file by default, or any database URL).
Sampling runs on an in-memory replica of it, because asking trials one parameter at a time
against a database is slow; trials are asked in batches of ``batch_size``, the batch is
evaluated in one vectorized call, and each completed trial (parameters, objective values,
constraints, sampler attributes) is written to the study of record as soon as its batch is
done. A process killed mid-run therefore loses no completed trial, and ``resume`` loads the
stored trials into a fresh replica and continues until the study holds ``trials`` completed
trials. Each parameter is the knob's level index (continuous knobs: the value); each
constraint is set with ``Trial.set_constraint`` under the problem's constraint name.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import BaseStorage, RDBStorage, RetryFailedTrialCallback
from optuna.storages.journal import JournalStorage
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from ador.errors import AdorError
from ador.search.archive import Archive
from ador.search.journal import JournalFile


def distributions(space) -> dict:
    out: dict[str, BaseDistribution] = {}
    for d in space.domains:
        if not d.discrete:
            out[d.knob.name] = FloatDistribution(d.low, d.high)
        elif d.knob.type == "choice":
            out[d.knob.name] = CategoricalDistribution(list(range(d.size or 0)))
        else:
            out[d.knob.name] = IntDistribution(0, (d.size or 1) - 1)
    return out


def sampler_of(name: str, *, seed: int, batch_size: int):
    if name in {"auto", "nsga2"}:
        return optuna.samplers.NSGAIISampler(population_size=batch_size, seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(batch_size, 50),
                                          constant_liar=True, multivariate=True)
    raise AdorError("the optuna backend runs nsga2 or tpe", field="search.algorithm",
                    value=name)


JOURNAL = "journal:///"  # storage URL prefix of an Optuna journal file (one machine)
HEARTBEAT_S = 2  # database storages: a running trial's heartbeat period ...
GRACE_S = 10  # ... and the silence after which it is failed and retried (RetryFailedTrial)
MAX_RETRY = 3


def storage_of(url: str) -> str | BaseStorage:
    """The Optuna storage of ``url``: ``journal:///<path>`` a journal file (several processes
    on one machine append to it under a file lock); ``sqlite:///<path>`` an SQLite file; any
    other database URL (``postgresql://user@host/db``) a shared database whose running
    trials send heartbeats, so that a trial of a killed worker is failed and retried."""
    if url.startswith(JOURNAL):
        return JournalStorage(JournalFile(url[len(JOURNAL) - 1:]))
    if url.startswith("sqlite:"):
        return url
    with warnings.catch_warnings():  # experimental, or renamed in later Optuna versions
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        retry = RetryFailedTrialCallback(max_retry=MAX_RETRY)
        if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage).parameters:
            return RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                              heartbeat_stale_trial_callback=retry)
        return RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                          failed_trial_callback=retry)


def open_study(*, storage: str, study_name: str, n_obj: int, resume: bool,
               join: bool = False) -> optuna.Study:
    """Create the study (``resume``: load it; ``join``: load it when it exists)."""
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        store = storage_of(storage)
        if resume:
            return optuna.load_study(study_name=study_name, storage=store)
        return optuna.create_study(study_name=study_name, storage=store, load_if_exists=join,
                                   directions=["minimize"] * n_obj)
    except KeyError:
        raise AdorError("no study of that name in the storage", field="storage",
                        value=study_name) from None
    except optuna.exceptions.DuplicatedStudyError:
        raise AdorError("a study of that name already exists in the storage; pass "
                        "--resume to continue it or --name for a new one", field="storage",
                        value=study_name) from None
    except (SQLAlchemyError, ValueError, ImportError, OSError, RuntimeError) as err:  # bad URL
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise AdorError(f"cannot open the study storage: {reason}", field="storage",
                        value=storage) from None


def run_optuna(archive: Archive, *, trials: int, batch_size: int, seed: int, storage: str,
               study_name: str, algorithm: str = "auto", resume: bool = False,
               on_batch: Callable[[Archive], None] | None = None) -> str:
    """Run until the study holds ``trials`` completed trials; every completed trial (also
    those of earlier runs of the study) ends up in ``archive``. Returns the sampler name."""
    problem = archive.problem
    space = problem.space
    name = "nsga2" if algorithm == "auto" else algorithm
    record = open_study(storage=storage, study_name=study_name, n_obj=problem.n_obj,
                        resume=resume)
    if len(record.directions) != problem.n_obj:
        raise AdorError("the stored study has a different number of objectives",
                        field="objectives", value=len(record.directions))
    replica = optuna.create_study(directions=["minimize"] * problem.n_obj,
                                  sampler=sampler_of(name, seed=seed, batch_size=batch_size))
    dists = distributions(space)
    done = record.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if done:  # earlier trials: into the replica, and re-evaluated (deterministic) for the archive
        replica.add_trials(done)
    batch = archive_trials(archive, done, batch_size=batch_size, on_batch=on_batch)
    remaining = trials - len(done)
    while remaining > 0:
        k = min(batch_size, remaining)
        asked = [replica.ask(dists) for _ in range(k)]
        X = np.array([[t.params[n] for n in space.names] for t in asked], dtype=float)
        ev = archive.evaluate(X, batch=batch)
        for i, t in enumerate(asked):
            for c, g in zip(problem.constraints, ev.G[i], strict=False):
                t.set_constraint(c, float(g))
            frozen = replica.tell(t, [float(f) for f in ev.F[i]])
            _store(record, frozen, storage)
        batch += 1
        remaining -= k
        if on_batch is not None:
            on_batch(archive)
    return name


def archive_trials(archive: Archive, trials: list, *, batch_size: int,
                   on_batch: Callable[[Archive], None] | None = None) -> int:
    """Evaluate stored trials (deterministic) into ``archive`` in batches; the batch count."""
    names = archive.problem.space.names
    X = np.array([[t.params[n] for n in names] for t in trials], dtype=float)
    batch = 0
    for b in range(0, len(trials), batch_size):
        archive.evaluate(X[b:b + batch_size], batch=batch)
        batch += 1
    if trials and on_batch is not None:
        on_batch(archive)
    return batch


def _store(record: optuna.Study, trial: Any, storage: str) -> None:
    """Add a finished trial to the study of record; a full disk or a lost database is one
    line (the trials stored so far stay in the storage, and --resume continues them)."""
    try:
        record.add_trial(trial)
    except (SQLAlchemyError, OSError) as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise AdorError(f"cannot store a trial in the study storage: {reason}",
                        field="storage", value=storage) from None


def completed_trials(*, storage: str, study_name: str) -> int:
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=storage_of(storage))
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
