"""`ador explore` and `ador sweep`: run folders, printed comparison, bad input, resume."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ador.search.runfolder import FILES
from tests.conftest import ROOT

FAST = ["--space", "ador-small", "--pop-size", "12", "--generations", "2", "--batch", "32",
        "--input-len", "128", "--output-len", "64", "--no-progress", "--seed", "1"]


def folders(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir())


def test_explore_writes_a_run_folder_and_prints_the_comparison(cli, tmp_path):
    r = cli("explore", *FAST, "--out-dir", tmp_path, "--name", "fast")
    assert r.code == 0, r.stderr
    [folder] = folders(tmp_path)
    assert folder.name.startswith("fast-")
    for name in ("config.yaml", "designs.csv", "pareto.csv", "baselines.csv",
                 "summary.json", "hypervolume.csv"):
        assert (folder / name).exists()
    assert "a100" in r.stdout and "h100" in r.stdout and "h200" in r.stdout
    assert "Pareto" in r.stdout and "tok/s/mm²" in r.stdout
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["evaluations"] == 24 and summary["seed"] == 1


def test_config_file_and_overrides(cli, tmp_path):
    problem = ROOT / "problems" / "ador-paper.yaml"
    r = cli("explore", "--config", problem, "--pop-size", "8", "--generations", "2",
            "--no-progress", "--out-dir", tmp_path, "--baselines", "a100",
            "--hbm-bw-budget", "none")
    assert r.code == 0, r.stderr
    [folder] = folders(tmp_path)
    config = (folder / "config.yaml").read_text()
    assert "pop_size: 8" in config and "- a100" in config
    assert "hbm_bandwidth_bytes_per_s" not in config and "area_mm2: 826" in config


def test_same_seed_same_designs(cli, tmp_path):
    for name in ("a", "b"):
        assert cli("explore", *FAST, "--out-dir", tmp_path, "--name", name).code == 0
    a, b = folders(tmp_path)
    assert (a / "designs.csv").read_text() == (b / "designs.csv").read_text()


@pytest.mark.slow
def test_sweep_enumerates_a_small_space(cli, tmp_path):
    r = cli("sweep", "ador-small", "--batch", "32", "--input-len", "128", "--output-len", "64",
            "--no-progress", "--out-dir", tmp_path, "--baselines", "none")
    assert r.code == 0, r.stderr
    [folder] = folders(tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["evaluations"] == 14688 and summary["backend"] == "sweep"


@pytest.mark.parametrize("args,words", [
    (["--objectives", "speed"], "objectives"),
    (["--tpot-slo", "fast"], "slo.tpot_s"),
    (["--area-budget", "-5 mm2"], "budgets.area_mm2"),
    (["--space", "no-such-space"], "unknown design space"),
    (["--backend", "annealing"], "search.backend"),
    (["--tpot-slo", "1 ns"], "no feasible design"),
    (["--resume", "/nonexistent/run"], "not a run folder"),
])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, words):
    r = cli("explore", *FAST, "--out-dir", tmp_path, *args)
    assert r.code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], r.stderr


def test_sweep_of_a_huge_space_is_refused_before_any_folder(cli, tmp_path):
    r = cli("sweep", "ador-hetero", "--no-progress", "--out-dir", tmp_path / "out")
    assert r.code == 2 and "more than a sweep evaluates" in r.stderr
    assert not (tmp_path / "out").exists()


def test_storage_needs_the_optuna_backend(cli, tmp_path):
    r = cli("explore", *FAST, "--out-dir", tmp_path / "out", "--storage", "sqlite:///x.db")
    assert r.code == 2 and "search.storage" in r.stderr
    assert not (tmp_path / "out").exists()


def test_malformed_space_file_names_file_and_field(cli, tmp_path):
    space = tmp_path / "bad.yaml"
    space.write_text("name: bad\nbase: ador-hetero\nknobs:\n"
                     "  - {name: x, path: chip.units.systolic_array.count, type: int,"
                     " low: 1, high: 4, bogus: 1}\n")
    r = cli("explore", *FAST, "--space", space, "--out-dir", tmp_path / "out")
    assert r.code == 2
    assert str(space) in r.stderr and "knobs[0].bogus" in r.stderr
    assert not (tmp_path / "out").exists() or not folders(tmp_path / "out")


def test_failure_never_touches_earlier_results(cli, tmp_path):
    assert cli("explore", *FAST, "--out-dir", tmp_path, "--name", "keep").code == 0
    [folder] = folders(tmp_path)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert cli("explore", *FAST, "--out-dir", tmp_path, "--tpot-slo", "1 ns").code == 2
    assert cli("explore", *FAST, "--out-dir", tmp_path, "--objectives", "x").code == 2
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def complete_trials(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("select count(*) from trials where state='COMPLETE'"
                               ).fetchone()[0]
    except sqlite3.Error:
        return 0


def trial_params(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("select t.number, p.param_name, p.param_value from trials t join "
                           "trial_params p on p.trial_id = t.trial_id where "
                           "t.state='COMPLETE' order by t.number, p.param_name").fetchall()


@pytest.mark.slow
def test_killed_optuna_run_resumes_without_losing_trials(cli, tmp_path):
    cmd = [sys.executable, "-m", "ador", "explore", *FAST, "--backend", "optuna",
           "--trials", "100000", "--pop-size", "8", "--name", "kill", "--out-dir",
           str(tmp_path), "--baselines", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        db = None
        while time.time() < deadline:
            found = list(tmp_path.glob("kill-*/study.db"))
            if found and complete_trials(found[0]) >= 40:
                db = found[0]
                break
            time.sleep(0.2)
        assert db is not None, "the optuna run did not store trials in time"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = complete_trials(db)
    before = trial_params(db)
    assert killed >= 40
    r = cli("explore", "--resume", db.parent, "--trials", str(killed + 16), "--no-progress")
    assert r.code == 0, r.stderr
    assert complete_trials(db) == killed + 16
    assert trial_params(db)[:len(before)] == before
    summary = json.loads((db.parent / FILES["summary"]).read_text())
    assert summary["evaluations"] == killed + 16


def test_pareto_yaml_through_ador_evaluate_gives_the_same_numbers(cli, tmp_path):
    import shlex

    import pandas as pd

    assert cli("explore", *FAST, "--space", "ador-hetero", "--out-dir", tmp_path).code == 0
    [folder] = folders(tmp_path)
    pareto = pd.read_csv(folder / "pareto.csv")
    for _, row in pareto.head(3).iterrows():
        header = (folder / row["yaml"]).read_text().splitlines()
        command = next(ln[2:] for ln in header if ln.startswith("# ador evaluate"))
        args = shlex.split(command)[1:]
        r = cli(*args, "--json")
        assert r.code == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["tpot_s"] == row["tpot_s"] and out["ttft_s"] == row["ttft_s"]
        assert out["throughput_per_chip_tok_s"] == row["throughput_per_chip_tok_s"]


@pytest.mark.slow
def test_external_storage_clash_and_bad_baseline_leave_no_folder(cli, tmp_path):
    out = tmp_path / "out"
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    opts = [*FAST, "--backend", "optuna", "--trials", "16", "--pop-size", "8",
            "--storage", url, "--name", "shared", "--out-dir", out]
    assert cli("explore", *opts).code == 0
    assert len(folders(out)) == 1
    r = cli("explore", *opts)
    assert r.code == 2 and "already exists" in r.stderr
    r = cli("explore", *FAST, "--out-dir", out, "--baselines", "a100,tpu9")
    assert r.code == 2 and "baselines" in r.stderr and "tpu9" in r.stderr
    assert len(folders(out)) == 1
    [folder] = folders(out)
    r = cli("explore", "--resume", folder, "--trials", "24", "--no-progress")
    assert r.code == 0, r.stderr
    assert json.loads((folder / "summary.json").read_text())["evaluations"] == 24
