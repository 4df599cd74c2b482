"""Worker processes on one Optuna study: journal file on one machine, PostgreSQL across."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import TrialState

from ador.search.explore import run_search
from ador.search.journal import JournalFile
from ador.search.optuna_backend import JOURNAL, open_study
from ador.search.problem import SearchProblem
from ador.search.space import load_design_space
from ador.search.workers import requeue_trials_of, work, worker_tag
from ador.spec.problem import SearchSettings
from tests.search.conftest import small_problem
from tests.search.postgres import pg_bin, postgres_server


def _spec(trials: int, *, storage: str | None = None, workers: int = 2, name: str = "w"):
    return small_problem(name=name, baselines=[], search=SearchSettings(
        backend="optuna", pop_size=8, trials=trials, seed=3, storage=storage,
        workers=workers))


def _check_study(study: optuna.Study, spec) -> list:
    """Exactly the target of completed trials, none left running, no parameters told twice
    by one trial, and every stored objective what this process computes for them."""
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    done = sorted((t for t in trials if t.state is TrialState.COMPLETE), key=lambda t: t.number)
    assert len(done) == spec.search.evaluations
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0
    assert len({t.number for t in done}) == len(done)
    problem = SearchProblem(spec, load_design_space(spec.space))
    X = np.array([[t.params[n] for n in problem.space.names] for t in done], dtype=float)
    F = problem.evaluate(X).F
    assert np.array_equal(F, np.array([t.values for t in done]))  # bit for bit
    return done


def test_journal_file_reads_whole_lines_only_and_continues_where_it_stopped(tmp_path):
    j = JournalFile(tmp_path / "j")
    j.append_logs([{"a": 1}, {"b": 2}])
    assert list(j.read_logs(0)) == [{"a": 1}, {"b": 2}]
    with open(tmp_path / "j", "ab") as f:
        f.write(b'{"c": 3}\n{"d": ')  # a line another process is still writing
    assert list(j.read_logs(2)) == [{"c": 3}]
    with open(tmp_path / "j", "ab") as f:
        f.write(b"4}\n")
    assert list(j.read_logs(3)) == [{"d": 4}]
    assert list(JournalFile(tmp_path / "j").read_logs(1)) == [{"b": 2}, {"c": 3}, {"d": 4}]


@pytest.mark.slow
def test_two_workers_on_a_journal_file_complete_every_trial_once(tmp_path):
    spec = _spec(64)
    result = run_search(spec, out_dir=tmp_path)
    url = f"{JOURNAL}{str(result.folder.resolve() / 'study.journal').lstrip('/')}"
    study = open_study(storage=url, study_name="w", n_obj=2, resume=True)
    done = _check_study(study, spec)
    assert len({t.user_attrs["worker"] for t in done}) >= 1
    designs = pd.read_csv(result.folder / "designs.csv")
    assert len(designs) == 64


@pytest.mark.slow
def test_a_killed_worker_leaves_the_journal_study_consistent(tmp_path):
    spec = _spec(400, workers=2)
    url = f"{JOURNAL}{str((tmp_path / 'study.journal').resolve()).lstrip('/')}"
    open_study(storage=url, study_name="w", n_obj=2, resume=False)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=work, kwargs={"spec": spec, "file": "t", "storage": url,
                                              "study_name": "w", "index": i})
             for i in range(2)]
    for p in procs:
        p.start()
    study = open_study(storage=url, study_name="w", n_obj=2, resume=True)
    while len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 40:
        time.sleep(0.05)
    procs[0].kill()
    procs[1].join(120)
    assert procs[1].exitcode == 0
    procs[0].join()
    requeued = requeue_trials_of(study, {worker_tag(procs[0].pid)})
    work(spec=spec, file="t", storage=url, study_name="w", index=2)
    _check_study(study, spec)
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    assert len(failed) == requeued
    retried = {t.user_attrs.get("retry_of") for t in study.get_trials(deepcopy=False)}
    assert {t.number for t in failed} <= retried


needs_postgres = pytest.mark.skipif(pg_bin() is None,
                                    reason="PostgreSQL server programs (pg_ctl) not installed")


@pytest.mark.slow
@needs_postgres
def test_two_workers_and_a_second_machine_share_a_postgresql_study(tmp_path):
    with postgres_server() as url:
        spec = _spec(64, storage=url)
        first = run_search(spec, out_dir=tmp_path / "a")
        study = open_study(storage=url, study_name="w", n_obj=2, resume=True)
        done = _check_study(study, spec)
        assert len(pd.read_csv(first.folder / "designs.csv")) == 64
        # another machine joins the same study by name: it finds it complete and reports it
        more = _spec(80, storage=url, workers=1)
        second = run_search(more, out_dir=tmp_path / "b")
        done2 = _check_study(study, more)
        assert [t.number for t in done2[:64]] == [t.number for t in done]
        assert len(pd.read_csv(second.folder / "designs.csv")) == 80


@pytest.mark.slow
@needs_postgres
def test_a_killed_worker_s_trials_are_retried_through_heartbeats(tmp_path):
    with postgres_server() as url:
        spec = _spec(240, storage=url)
        open_study(storage=url, study_name="w", n_obj=2, resume=False)
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=work, kwargs={"spec": spec, "file": "t", "storage": url,
                                                  "study_name": "w", "index": i})
                 for i in range(2)]
        for p in procs:
            p.start()
        study = open_study(storage=url, study_name="w", n_obj=2, resume=True)
        while len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 30:
            time.sleep(0.05)
        procs[0].kill()
        procs[1].join(240)  # the survivor waits out the dead one's heartbeat and retries
        assert procs[1].exitcode == 0
        _check_study(study, spec)
        # every failed trial came back: as a retry of it, or it was a retry itself
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        retried = {RetryFailedTrialCallback.retried_trial_number(t)
                   for t in study.get_trials(deepcopy=False)}
        assert all(t.number in retried or "failed_trial" in t.system_attrs for t in failed)


def test_a_bad_worker_count_is_one_line(cli, tmp_path):
    r = cli("explore", "--backend", "optuna", "--trials", "4", "--workers", "0",
            "--out-dir", tmp_path, "--no-progress")
    assert r.code == 2 and r.stderr.count("\n") == 1
    assert "search.workers" in r.stderr and "0" in r.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_workers_default_to_a_journal_file_in_the_run_folder(tmp_path):
    from ador.search.backends import Job, study_storage

    job = Job(settings=SearchSettings(backend="optuna", workers=2), name="w", folder=tmp_path,
              resume=False)
    url = study_storage(job)
    assert url == f"{JOURNAL}{str((tmp_path / 'study.journal').resolve()).lstrip('/')}"
    assert study_storage(Job(settings=SearchSettings(backend="optuna"), name="w",
                             folder=tmp_path, resume=False)).startswith("sqlite:///")
