"""Run folders that cannot be corrupted: resume refuses another problem or space, one writer
at a time, a killed run is marked incomplete, designs.csv names its generation column."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ador.errors import AdorError
from ador.report.html import build_report
from ador.report.run import load_run
from ador.search.runfolder import LOCK, RunLock, write_status

OPTUNA = ["--space", "ador-small", "--baselines", "none", "--backend", "optuna",
          "--trials", "8", "--pop-size", "4", "--no-progress", "--power-budget", "none",
          "--tpot-slo", "none", "--ttft-slo", "none"]


@pytest.fixture
def run(cli, tmp_path):
    r = cli("explore", *OPTUNA, "--out-dir", tmp_path)
    assert r.code == 0, r.stderr
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    return folder


@pytest.mark.parametrize(("options", "field"), [
    (["--objectives", "tpot,area"], "objectives"),
    pytest.param(["--tpot-slo", "20 ms"], "slo", marks=pytest.mark.slow),
    pytest.param(["--area-budget", "500 mm2"], "budgets", marks=pytest.mark.slow),
    (["--batch", "7"], "scenarios"),
    pytest.param(["--space", "ador-hetero"], "space", marks=pytest.mark.slow),
])
def test_resume_refuses_another_problem(cli, run, options, field):
    r = cli("explore", "--resume", run, "--trials", "12", "--no-progress", *options)
    assert r.code == 2, r.stdout
    assert f"field '{field}'" in r.stderr and "--resume" in r.stderr
    assert json.loads((run / "summary.json").read_text())["evaluations"] == 8


def test_resume_refuses_a_space_file_changed_since(cli, run):
    space = yaml.safe_load((run / "space.yaml").read_text())
    space["knobs"][0]["high"] = 3  # a stored space that differs from today's ador-small
    (run / "space.yaml").write_text(yaml.safe_dump(space))
    r = cli("explore", "--resume", run, "--trials", "12", "--no-progress")
    assert r.code == 2 and "space.yaml" in r.stderr and "differs" in r.stderr


def test_resume_with_the_same_problem_continues(cli, run):
    r = cli("explore", "--resume", run, "--trials", "12", "--no-progress")
    assert r.code == 0, r.stderr
    assert json.loads((run / "summary.json").read_text())["evaluations"] == 12
    assert json.loads((run / "status.json").read_text())["status"] == "complete"
    assert not (run / LOCK).exists()


def test_a_second_writer_is_refused(cli, run):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (run / LOCK).write_text(f"{sleeper.pid}\n")  # a live writer holds the folder
        r = cli("explore", "--resume", run, "--trials", "12", "--no-progress")
        assert r.code == 2 and f"pid {sleeper.pid}" in r.stderr
        assert json.loads((run / "summary.json").read_text())["evaluations"] == 8
    finally:
        sleeper.kill()
        sleeper.wait()
    # the writer died without cleaning up: its lock is taken over
    r = cli("explore", "--resume", run, "--trials", "12", "--no-progress")
    assert r.code == 0, r.stderr


def test_lock_in_process(tmp_path):
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(AdorError, match="another ador process"), RunLock(tmp_path):
            pass
    assert not (tmp_path / LOCK).exists()


def test_killed_run_is_marked_incomplete(run):
    assert load_run(run).status == "complete"
    write_status(run, "incomplete", pid=1)  # what a run killed during a resume leaves
    loaded = load_run(run)
    assert loaded.incomplete
    assert any("incomplete" in n for n in build_report(loaded, evaluate_designs=False).notes)
    for name in ("designs.csv", "pareto.csv"):
        (run / name).unlink()  # killed before its first write
    with pytest.raises(AdorError, match="the run is incomplete"):
        load_run(run)


@pytest.mark.slow
def test_report_cli_shows_incomplete(cli, run):
    write_status(run, "incomplete", pid=1)
    r = cli("report", run)
    assert r.code == 0 and "incomplete" in r.stdout


def test_designs_csv_names_the_generation(run):
    header = (run / "designs.csv").read_text().splitlines()[0].split(",")
    assert "generation" in header and "batch" not in header
