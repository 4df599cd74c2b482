"""Loading a run folder back as DataFrames, and `ador.load_run`."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ador
from ador.errors import AdorError
from ador.report.run import load_run
from tests.report.synthetic import make_run


def test_load_run_reads_every_file(tmp_path):
    run = load_run(make_run(tmp_path))
    assert len(run.designs) == 24 and {"id", "feasible", "ttft_s"} <= set(run.designs.columns)
    assert 0 < len(run.pareto) < len(run.designs) and "yaml" in run.pareto.columns
    assert set(run.baselines["baseline"]) == {"a100", "h100", "h200"}
    assert list(run.hypervolume.columns) == ["evaluations", "feasible", "hypervolume"]
    assert run.objectives == ["throughput_per_chip", "tokens_per_s_per_mm2"]
    assert run.knobs == ["sa_count", "sram", "hbm"]
    assert run.knob_units == {"sram": "bytes"}
    assert run.summary["backend"] == "pymoo"


def test_knobs_and_objectives_without_config_or_space(tmp_path):
    folder = make_run(tmp_path)
    for name in ("config.yaml", "space.yaml", "baselines.csv", "hypervolume.csv"):
        (folder / name).unlink()
    run = load_run(folder)
    assert run.objectives == ["throughput_per_chip", "tokens_per_s_per_mm2"]
    assert run.knobs == ["sa_count", "sram", "hbm"]
    assert run.baselines.empty and run.hypervolume.empty


def test_missing_folder_file_and_non_run_folder(tmp_path):
    with pytest.raises(AdorError, match="run folder does not exist") as exc:
        load_run(tmp_path / "nope")
    assert str(tmp_path / "nope") in exc.value.message()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(AdorError, match="expected a directory"):
        load_run(tmp_path / "file.txt")
    with pytest.raises(AdorError, match="designs.csv is missing"):
        load_run(tmp_path)
    (tmp_path / "designs.csv").write_text("a,b\n1,2\n")
    (tmp_path / "pareto.csv").write_text("a,b\n1,2\n")
    with pytest.raises(AdorError, match="no 'id' column"):
        load_run(tmp_path)


def test_ador_load_run_is_lazy(tmp_path):
    assert ador.load_run is load_run
    assert len(ador.load_run(make_run(tmp_path)).pareto) > 0
    with pytest.raises(AttributeError):
        ador.no_such_thing  # noqa: B018
    code = ("import sys, ador; assert 'pandas' not in sys.modules and "
            "'plotly' not in sys.modules, sorted(m for m in sys.modules if 'pandas' in m)")
    subprocess.run([sys.executable, "-c", code], check=True)
