"""Run folders: the documented files, exact reproduction of Pareto designs, no overwrite."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError, InfeasibleError
from ador.evaluate.breakdown import evaluate
from ador.report.run import load_run
from ador.search.explore import run_search
from ador.search.runfolder import FILES
from ador.spec.io import load_hardware, load_model, load_problem, load_space
from ador.spec.problem import ProblemScenario, Slo
from tests.search.conftest import small_problem

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    return run_search(small_problem(), out_dir=out, now=NOW)


def test_the_documented_files_are_written(run):
    folder = run.folder
    assert folder.name == "t-20300102-030405"
    for key, name in FILES.items():
        if key not in ("study", "confirmed", "confirmed_dir"):  # serving runs only
            assert (folder / name).exists(), name
    assert not (folder / FILES["study"]).exists()
    loaded = load_run(folder)
    designs, pareto = loaded.designs, loaded.pareto
    assert len(designs) == run.archive.n == 16 * 3
    assert {"id", "generation", "feasible", "sa_count", "ttft_s", "tpot_s", "area_mm2",
            "throughput_per_chip_tok_s", "g_valid", "obj_throughput_per_chip",
            "obj_area"} <= set(designs.columns)
    assert set(pareto["id"]) <= set(designs["id"][designs["feasible"] == 1])
    assert list(loaded.baselines["baseline"]) == ["a100"]
    assert {"tpot_ratio", "tokens_per_s_per_mm2_ratio"} <= set(loaded.comparison.columns)
    assert loaded.hypervolume["hypervolume"].is_monotonic_increasing
    summary = json.loads((folder / FILES["summary"]).read_text())
    assert summary["evaluations"] == 48 and summary["pareto"] == len(pareto)
    assert summary["status"] == "ok"


def test_config_and_space_reload_to_the_same_problem(run):
    assert load_problem(run.folder / FILES["config"]) == run.problem.spec
    assert load_space(run.folder / FILES["space"]) == run.problem.space.spec


def test_pareto_yaml_reproduces_the_numbers_exactly(run):
    pareto = pd.read_csv(run.folder / FILES["pareto"])
    sc = run.problem.spec.scenarios[0]
    model = load_model(sc.model)
    for _, row in pareto.iterrows():
        hw = load_hardware(str(run.folder / row["yaml"]))
        b = evaluate(hardware=hw, model=model, scenario=sc.scenario())
        assert b.tpot_s == row["tpot_s"]
        assert b.ttft_s == row["ttft_s"]
        assert b.throughput_per_chip_tok_s == row["throughput_per_chip_tok_s"]
        text = (run.folder / row["yaml"]).read_text()
        assert "ador evaluate" in text and f"--batch {sc.batch}" in text


def test_an_existing_run_folder_is_never_overwritten(run):
    before = (run.folder / FILES["designs"]).read_text()
    with pytest.raises(AdorError, match="already exists"):
        run_search(small_problem(), out_dir=run.folder.parent, now=NOW)
    assert (run.folder / FILES["designs"]).read_text() == before


def test_impossible_slo_is_one_clear_error(tmp_path):
    spec = small_problem(slo=Slo(tpot_s=1e-6))
    with pytest.raises(InfeasibleError) as info:
        run_search(spec, out_dir=tmp_path, config_file="p.yaml", now=NOW)
    msg = info.value.message()
    assert info.value.field == "slo.tpot_s" and "p.yaml" in msg and "tpot" in msg
    assert "\n" not in msg
    summary = json.loads((tmp_path / "t-20300102-030405" / FILES["summary"]).read_text())
    assert summary["status"] == "no feasible design" and summary["pareto"] == 0


def test_tp_knob_runs_record_tp_in_the_reproduction_command(tmp_path):
    spec = small_problem(space="ador-hetero",
                         scenarios=[ProblemScenario(batch=32, input_len=128, output_len=64)])
    r = run_search(spec, out_dir=tmp_path, now=NOW)
    model = load_model("llama3-8b")
    for _, row in r.pareto.head(3).iterrows():
        text = (r.folder / row["yaml"]).read_text()
        assert f"--tp {int(row['tp'])}" in text
        hw = load_hardware(str(r.folder / row["yaml"]))
        b = evaluate(hardware=hw, model=model,
                     scenario=spec.scenarios[0].scenario(tp=int(row["tp"])))
        assert np.float64(b.tpot_s) == row["tpot_s"]
