"""Searching hardware and serving together: serving metrics, serving knobs, the simulator's
confirmation and the commands that reproduce it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ador.errors import AdorError, SpecError
from ador.metrics import BY_NAME, SERVING
from ador.search.confirm import ROLE_PARETO, ROLE_SAMPLE, error_table, pick_designs, run_pool
from ador.search.problem import SearchProblem, design_keys
from ador.search.runfolder import FILES
from ador.search.serving import ServeArgs, serving_columns
from ador.search.space import DesignSpace, load_design_space
from ador.spec.problem import ProblemSpec, ServingSearch
from tests.conftest import ROOT
from tests.search.conftest import small_problem, space_file

SHARED = ROOT.parent / "shared" / "workloads"
needs_trace = pytest.mark.skipif(not (SHARED / "splitwise_conv.csv").exists(),
                                 reason="../shared/workloads (request traces) not present")
SERVING_KNOBS = """
name: joint
base: ador-hetero
knobs:
  - {name: sa_count, path: chip.units.systolic_array.count, type: int, values: [0, 1, 2]}
  - {name: scheduler, path: serving.scheduler, type: choice, values: [vllm, sarathi]}
  - {name: chunk, path: serving.chunk_tokens, type: int, values: [256, 512, 1024]}
"""


def _space(tmp_path: Path, text: str = SERVING_KNOBS) -> DesignSpace:
    return load_design_space(str(space_file(tmp_path, text)))


def test_serving_objectives_and_limits_need_a_serving_workload():
    with pytest.raises(ValueError, match="serving workload"):
        small_problem(objectives=["goodput_per_mm2"])
    with pytest.raises(ValueError, match="slo.tpot_p99_s limits a serving figure"):
        small_problem(slo={"tpot_p99_s": "100 ms"})
    spec = small_problem(objectives=["goodput_per_mm2", "tpot_p99"],
                         serving=ServingSearch(workload="fixed-512-512"))
    assert spec.serving is not None and spec.serving.num_requests == 1000


def test_serving_metrics_are_registry_entries():
    for m in SERVING:
        assert m.searched and m.objective and m.serving
    assert {m.name for m in SERVING} == {"goodput_per_chip", "goodput_per_mm2", "goodput_per_w",
                                         "goodput_per_usd", "ttft_p99", "tpot_p99"}
    assert BY_NAME["tpot_p99"].limit == "slo.tpot_p99_s"


def test_serving_columns_by_hand():
    cols = serving_columns(goodput_per_s=np.array([8.0, 0.0]), chips=np.array([2.0, 1.0]),
                           ttft_p99_s=np.array([0.5, np.inf]), tpot_p99_s=np.array([0.02, 1.0]),
                           static={"area_mm2": np.array([400.0, 100.0]),
                                   "power_w": np.array([500.0, 100.0]),
                                   "cost_usd": np.array([1000.0, 10.0])})
    assert cols["goodput_per_chip_per_s"].tolist() == [4.0, 0.0]
    assert cols["goodput_per_s_per_mm2"].tolist() == [0.01, 0.0]
    assert cols["goodput_per_s_per_w"].tolist() == [4.0 / 500.0, 0.0]
    assert cols["goodput_per_s_per_usd"].tolist() == [4.0 / 1000.0, 0.0]


def test_serving_knobs_set_the_scheduler_per_design(tmp_path):
    space = _space(tmp_path)
    X = np.array([[0, 0, 0], [0, 1, 2], [0, 1, 2]], dtype=float)
    assert space.serving(X) == [{"name": "vllm", "chunk_tokens": 256},
                                {"name": "sarathi", "chunk_tokens": 1024},
                                {"name": "sarathi", "chunk_tokens": 1024}]
    keys = design_keys(space, X)
    assert keys[0] != keys[1] and keys[1] == keys[2]  # same hardware, other scheduler
    specs, valid = space.build(X)
    assert valid.all() and specs[0] == specs[1]  # serving knobs leave the hardware alone


@pytest.mark.parametrize("knob,words", [
    ("{name: s, path: serving.scheduler, type: choice, values: [vllm, fastest]}",
     "not a valid serving setting"),
    ("{name: s, path: serving.swap, type: choice, values: [a]}", "serving knob path"),
    ("{name: s, path: serving.chunk_tokens, type: int, values: [0, 512]}",
     "not a valid serving setting"),
])
def test_bad_serving_knobs_are_refused(tmp_path, knob, words):
    text = f"name: j\nbase: ador-hetero\nknobs:\n  - {knob}\n"
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=words):
        load_design_space(str(path))


def test_serving_knobs_without_a_serving_workload_are_inert(tmp_path):
    space = _space(tmp_path)
    with pytest.raises(SpecError, match="no metric depends on without a serving workload"):
        SearchProblem(small_problem(space=str(tmp_path / "space.yaml")), space)


def test_pick_designs_spreads_the_front_and_samples_others():
    F = np.array([[5.0], [1.0], [3.0], [2.0], [4.0], [9.0], [8.0], [7.0]])
    feasible = np.array([True] * 7 + [False])
    picks = pick_designs(F=F, feasible=feasible, front=np.array([0, 1, 2, 3, 4]), n_pareto=3,
                         n_sample=5, seed=0)
    pareto = [p.index for p in picks if p.role == ROLE_PARETO]
    assert pareto == [1, 2, 0]  # lowest, middle and highest first objective
    sample = [p.index for p in picks if p.role == ROLE_SAMPLE]
    assert sorted(sample) == [5, 6]  # every feasible non-front design, no infeasible one
    again = pick_designs(F=F, feasible=feasible, front=np.array([0, 1, 2, 3, 4]), n_pareto=3,
                         n_sample=1, seed=0)
    assert again == pick_designs(F=F, feasible=feasible, front=np.array([0, 1, 2, 3, 4]),
                                 n_pareto=3, n_sample=1, seed=0)


def test_error_table_reports_absolute_relative_errors():
    cols = {f"err:{m.column}": [0.1, -0.3, np.nan] for m in SERVING}
    table = error_table(pd.DataFrame(cols))
    assert table["goodput_per_chip"]["designs"] == 2
    assert table["goodput_per_chip"]["median_abs"] == pytest.approx(0.2)
    assert table["goodput_per_chip"]["max_abs"] == pytest.approx(0.3)


def _problem(**serving) -> ProblemSpec:
    return small_problem(space="ador-hetero",
                         objectives=["goodput_per_mm2", "tpot_p99"],
                         serving=ServingSearch(workload="fixed-512-512", num_requests=60,
                                               **serving))


def test_serve_command_passes_the_same_values_as_the_library_call(hetero_space):
    problem = SearchProblem(_problem(rate="3/s"), hetero_space)
    assert problem.serving is not None
    args = ServeArgs(hardware="d 1.yaml", setup=problem.serving, tp=2,
                     scheduler={"name": "sarathi", "chunk_tokens": 1024})
    kw, words = args.kwargs(), shlex.split(args.command())
    assert words[:3] == ["ador", "serve", "d 1.yaml"]

    def opt(name: str) -> str:
        return words[words.index(name) + 1]

    assert opt("--workload") == kw["workload"] == "fixed-512-512"
    assert opt("--rate") == kw["overrides"]["rate"] == "3.0/s"
    assert int(opt("--num-requests")) == kw["overrides"]["num_requests"] == 60
    assert opt("--scheduler") == kw["scheduler"]["name"] == "sarathi"
    assert int(opt("--chunk-tokens")) == kw["scheduler"]["chunk_tokens"] == 1024
    assert int(opt("--tp")) == kw["tp"] == 2 and "--goodput" in words


def test_problem_evaluates_serving_columns_for_designs_and_baselines(hetero_space):
    problem = SearchProblem(_problem(), hetero_space)
    X = np.array([hetero_space.default_genome()] * 2)
    ev = problem.evaluate(X)
    for m in SERVING:
        assert m.column in ev.metrics and ev.metrics[m.column].shape == (2,)
    assert ev.F.shape == (2, 2)
    from ador.search.baselines import evaluate_baselines

    frame = evaluate_baselines(problem)
    assert "goodput_per_s_per_mm2" in frame.columns


def test_a_static_problem_has_no_serving_columns(small):
    ev = small.evaluate(np.array([small.space.default_genome()]))
    assert not any(m.column in ev.metrics for m in SERVING)


def test_serving_search_without_slos_or_with_a_closed_loop_is_refused(hetero_space):
    with pytest.raises(AdorError, match="open-loop"):
        SearchProblem(small_problem(serving=ServingSearch(workload="closed-loop-16")),
                      hetero_space)


@pytest.mark.slow
def test_joint_search_confirms_pareto_designs_reproducibly(cli, tmp_path):
    r = cli("explore", "--space", "ador-hetero", "--pop-size", "8", "--generations", "1",
            "--serving", "fixed-512-512", "--serving-requests", "60", "--confirm-pareto", "2",
            "--confirm-sample", "1", "--objectives", "goodput_per_mm2,tpot_p99",
            "--baselines", "a100", "--no-progress", "--out-dir", tmp_path, "--name", "joint")
    assert r.code == 0, r.stderr
    [folder] = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    confirmed = pd.read_csv(folder / FILES["confirmed"])
    assert 1 <= (confirmed["role"] == ROLE_PARETO).sum() <= 2
    for m in SERVING:
        assert {f"est:{m.column}", f"sim:{m.column}", f"err:{m.column}"} <= set(
            confirmed.columns)
    summary = json.loads((folder / FILES["summary"]).read_text())
    assert summary["serving"]["confirmation"]["designs"] == len(confirmed)
    row = confirmed.iloc[0]
    out = cli(*shlex.split(row["command"])[1:], "--out-dir", tmp_path / "serve")
    assert out.code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["goodput"]["rate_per_s_per_chip"] == row["sim:goodput_per_chip_per_s"]
    assert data["summary"]["tpot_p99_s"] == row["sim:tpot_p99_s"]
    assert data["summary"]["ttft_p99_s"] == row["sim:ttft_p99_s"]
    header = (folder / "pareto" / f"{row['id']}.yaml").read_text()
    assert row["command"] in header


def test_serving_options_need_a_serving_workload(cli, tmp_path):
    r = cli("explore", "--serving-requests", "100", "--out-dir", tmp_path)
    assert r.code == 2 and "--serving-requests" in r.stderr and "--serving" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_confirmations_in_a_pool_equal_those_in_process(hetero_space):
    problem = SearchProblem(_problem(), hetero_space)
    assert problem.serving is not None
    tasks = [ServeArgs(hardware=hw, setup=problem.serving, tp=1, scheduler={}).kwargs()
             for hw in ("a100", "h100")]
    one = run_pool(tasks, workers=1)
    two = run_pool(tasks, workers=2)
    for a, b in zip(one, two, strict=True):
        assert {k: v for k, v in a.items() if k != "elapsed_s"} == {
            k: v for k, v in b.items() if k != "elapsed_s"}
