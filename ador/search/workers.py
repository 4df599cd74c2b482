"""Several processes, on one machine or many, searching one Optuna study (``--workers N``).

Each worker process opens the study of record (an Optuna journal file on one machine, or a
database that workers on other machines join), asks a batch of trials from it with its own
sampler (seed + worker index), evaluates the batch in one vectorized call and tells the
results. Every worker's sampler reads the trials of all, so the workers run one search;
which trial lands in which batch depends on timing, so the sequence of trials of a run
with workers is not reproducible, while every trial's figures are (evaluation is
deterministic).

Processes, not threads: evaluation is numpy and Python, which the GIL serialises.

Trial count: a worker asks while completed and running trials fall short of the target
(waiting trials, re-queued ones, are taken first). Two workers that ask at once may
overshoot: a trial whose number ranks beyond the target among the live trials is told
PRUNED without being evaluated, so the study ends with exactly the target of completed
trials.

Killed workers: on a database storage the running trials send heartbeats; a trial silent
for ``GRACE_S`` is failed by the next worker that asks and re-queued with the same
parameters (Optuna's RetryFailedTrialCallback). A journal file keeps no heartbeats: the
process that started the workers fails the running trials of a worker that died and
re-queues them, then finishes the study itself.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.storages import BaseStorage, fail_stale_trials
from optuna.trial import TrialState

from ador.errors import AdorError
from ador.search.archive import Archive
from ador.search.optuna_backend import (
    HEARTBEAT_S,
    archive_trials,
    distributions,
    open_study,
    sampler_of,
)
from ador.search.problem import SearchProblem
from ador.search.space import load_design_space
from ador.spec.problem import ProblemSpec

POLL_S = 0.5  # a worker with nothing to ask waits this long for other workers' trials
WORKER_ATTR = "worker"  # user attribute of a trial: host:pid of the worker that ran it
LIVE = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)


def worker_tag(pid: int | None = None) -> str:
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def work(*, spec: ProblemSpec, file: str, storage: str, study_name: str, index: int,
         wait: bool | None = None, study: optuna.Study | None = None) -> int:
    """One worker: ask, evaluate and tell batches until the study holds its target of
    completed trials. ``wait``: keep polling while other workers' trials run (default: on
    storages with heartbeats, where a dead worker's trial comes back); ``study``: the study,
    already open. Returns the number of trials this worker completed."""
    s = spec.search
    problem = SearchProblem(spec, load_design_space(spec.space), file=file)
    if study is None:
        study = open_study(storage=storage, study_name=study_name, n_obj=problem.n_obj,
                           resume=True)
    algorithm = "nsga2" if s.algorithm == "auto" else s.algorithm
    study.sampler = sampler_of(algorithm, seed=s.seed + index, batch_size=s.pop_size)
    store = study._storage
    beats = isinstance(store, BaseStorage) and _heartbeats(store)
    wait = beats if wait is None else wait
    dists = distributions(problem.space)
    target, tag, completed = s.evaluations, worker_tag(), 0
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        done = sum(t.state is TrialState.COMPLETE for t in trials)
        running = sum(t.state is TrialState.RUNNING for t in trials)
        if done >= target:
            return completed
        k = min(s.pop_size, target - done - running)
        if k <= 0:
            if not wait:
                return completed
            time.sleep(POLL_S)
            continue
        asked = [_ask(study, dists=dists, store=store if beats else None, tag=tag)
                 for _ in range(k)]
        keep = _within_target(study, asked, target)
        for t in asked:
            if t not in keep:
                study.tell(t, state=TrialState.PRUNED)
        if not keep:
            continue
        X = np.array([[t.params[n] for n in problem.space.names] for t in keep], dtype=float)
        with _beating(store if beats else None, [t._trial_id for t in keep]):
            ev = problem.evaluate(X)
        for i, t in enumerate(keep):
            for c, g in zip(problem.constraints, ev.G[i], strict=True):
                t.set_constraint(c, float(g))
            study.tell(t, [float(f) for f in ev.F[i]])
        completed += len(keep)


def _ask(study: optuna.Study, *, dists: dict, store: BaseStorage | None, tag: str
         ) -> optuna.Trial:
    """A new trial, its first heartbeat sent before it is sampled (a running trial without
    a heartbeat is never found stale), tagged with the worker."""
    t = study.ask()
    if store is not None:
        store.record_heartbeat(t._trial_id)  # type: ignore[attr-defined]
    t.set_user_attr(WORKER_ATTR, tag)
    for name, dist in dists.items():
        if isinstance(dist, CategoricalDistribution):
            t.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntDistribution):
            t.suggest_int(name, dist.low, dist.high)
        else:
            t.suggest_float(name, dist.low, dist.high)
    return t


def _heartbeats(store: BaseStorage) -> bool:
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(store)


def _within_target(study: optuna.Study, asked: list, target: int) -> list:
    """The asked trials that rank within the target among the live trials by number."""
    live = sorted(t.number for t in study.get_trials(deepcopy=False, states=LIVE))
    allowed = set(live[:target])
    return [t for t in asked if t.number in allowed]


@contextmanager
def _beating(store: BaseStorage | None, trial_ids: list[int]) -> Iterator[None]:
    """Send the trials' heartbeats while their batch is evaluated."""
    if store is None:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            for tid in trial_ids:
                store.record_heartbeat(tid)  # type: ignore[attr-defined]
            if stop.wait(HEARTBEAT_S):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_workers(archive: Archive, *, workers: int, storage: str, study_name: str,
                batch_size: int, on_batch: Callable[[Archive], None] | None = None) -> str:
    """Start ``workers`` processes on the study (created if absent, joined if present),
    wait for them, re-queue the trials of any that died and finish them here, then put
    every completed trial of the study into ``archive``. Returns the sampler name."""
    problem = archive.problem
    spec = problem.spec
    open_study(storage=storage, study_name=study_name, n_obj=problem.n_obj, resume=False,
               join=True)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_child, kwargs={
        "spec": spec, "file": problem.file, "storage": storage, "study_name": study_name,
        "index": i}) for i in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    study = open_study(storage=storage, study_name=study_name, n_obj=problem.n_obj,
                       resume=True)
    dead = {worker_tag(p.pid) for p in procs if p.exitcode != 0}
    requeue_trials_of(study, dead)
    work(spec=spec, file=problem.file, storage=storage, study_name=study_name,
         index=workers, study=study)
    done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                  key=lambda t: t.number)
    archive_trials(archive, done, batch_size=batch_size, on_batch=on_batch)
    return "nsga2" if spec.search.algorithm == "auto" else spec.search.algorithm


def _child(**kwargs) -> None:
    """A worker process: a user-facing error is one line on stderr and exit status 2 (the
    parent then finishes the study itself, and reports the error once more if it recurs)."""
    try:
        work(**kwargs)
    except AdorError as err:
        print(f"worker {worker_tag()}: {err.message()}", file=sys.stderr)
        sys.exit(2)


def requeue_trials_of(study: optuna.Study, tags: set[str]) -> int:
    """Fail the running trials of the workers ``tags`` (dead) and queue their parameters
    again; the number re-queued."""
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get(WORKER_ATTR) in tags:
            study.tell(t.number, state=TrialState.FAIL)
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
            n += 1
    return n


__all__ = ["requeue_trials_of", "run_workers", "work", "worker_tag"]
