"""The UELLM reproduction script: strict JSON, headline directions, bad options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "reproduce_uellm.py"
TRACE = ROOT.parent / "shared" / "workloads" / "splitwise_conv.csv"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_bad_option_is_one_line_and_exit_code_2():
    out = _run("--accuracy", "1.5")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "accuracy" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
@pytest.mark.skipif(not TRACE.exists(), reason="conversation trace not in ../shared")
def test_reproduction_directions():
    out = _run("--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    sysd = d["systems"]
    ue = sysd["UELLM (HELR + SLO-ODBS)"]
    assert d["helr"]["devices"] == [0] and ue["chips"] == 1  # the model fits one chip
    assert all(v["completed"] == 100 for v in sysd.values())
    assert ue["violations"] == 0
    for base in ("S3-like (4-chip split)", "Morphling-like (1 chip)"):
        assert sysd[base]["violations"] > 0
        assert d["ratios"][base]["makespan_reduction"] > 0
        assert d["ratios"][base]["throughput_gain"] > 1
    # a layer split adds hops and no overlap: the same batches are not faster on 4 chips
    assert sysd["SLO-ODBS on 4-chip split"]["makespan_s"] >= ue["makespan_s"]
    # under continuous batching the grouping gain is gone
    cont = sysd["continuous SLO-ODBS order"]["makespan_s"] / sysd[
        "continuous FCFS, 1 chip"]["makespan_s"]
    static = ue["makespan_s"] / sysd["Morphling-like (1 chip)"]["makespan_s"]
    assert cont > 0.97 and static < cont
