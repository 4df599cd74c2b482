"""Prefill/decode disaggregation as knobs of a joint search: the deployment knobs, the
per-chip figures over all of a deployment's chips, and the ``ador cluster`` confirmation
that reproduces exactly."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest

from ador.errors import SpecError
from ador.metrics import SERVING
from ador.search.problem import SearchProblem, design_keys
from ador.search.runfolder import FILES
from ador.search.serving import deployment_figures, serving_columns
from ador.search.space import load_design_space
from ador.spec.problem import ProblemScenario, ServingDeployment
from tests.search.conftest import (
    cluster_confirmation,
    reproduced,
    serving_problem,
    space_file,
)

PD_SPACE = """
name: pd
base: ador-hetero
knobs:
  - {name: mt_count, path: chip.units.mac_tree.count, type: int, values: [32, 64]}
  - {name: policy, path: serving.policy, type: choice, values: [colocated, disaggregated]}
  - {name: prefill_instances, path: serving.prefill_instances, type: int, values: [1, 2]}
  - {name: decode_instances, path: serving.decode_instances, type: int, values: [1, 2]}
  - {name: prefill_hw, path: serving.prefill_hardware, type: choice, values: [design, h100]}
"""


def _space_file(tmp_path: Path, text: str = PD_SPACE) -> Path:
    return space_file(tmp_path, text, name="pd")


def test_deployment_knobs_set_the_deployment_apart_from_the_scheduler(tmp_path):
    path = _space_file(tmp_path)
    space = load_design_space(str(path))
    problem = SearchProblem(serving_problem(path), space)
    assert problem.serving is not None
    X = np.array([[0, 0, 0, 0, 0], [0, 1, 1, 0, 1], [0, 1, 1, 0, 0]], dtype=float)
    rows = space.serving(X)
    deps = problem.serving.deployments(rows)
    assert deps[0] == ServingDeployment()  # the defaults: colocated, one instance
    assert deps[1] == ServingDeployment(policy="disaggregated", prefill_instances=2,
                                        decode_instances=1, prefill_hardware="h100")
    assert problem.serving.schedulers(rows)[1] == problem.serving.scheduler
    keys = design_keys(space, X)
    assert keys[1] != keys[2]  # same chip, other prefill pool
    # a colocated design's pool knobs are inert: one design, evaluated once
    Y = np.array([[0, 0, 0, 0, 0], [0, 0, 1, 1, 1]], dtype=float)
    assert design_keys(space, Y)[0] == design_keys(space, Y)[1]


@pytest.mark.parametrize("knob,words", [
    ("{name: pre_hw, path: serving.prefill_hardware, type: choice, values: [design, h1000]}",
     "knob 'pre_hw' is neither 'design' nor a hardware template"),
    ("{name: n, path: serving.decode_instances, type: int, values: [0, 1]}",
     "not a valid serving setting"),
    ("{name: p, path: serving.policy, type: choice, values: [colocated, adrenaline]}",
     "not a valid serving setting"),
])
def test_bad_deployment_knobs_are_refused_in_one_line(tmp_path, knob, words):
    path = _space_file(tmp_path, f"name: j\nbase: ador-hetero\nknobs:\n  - {knob}\n")
    with pytest.raises(SpecError, match=words) as err:
        load_design_space(str(path))
    assert "knobs[0]" in str(err.value) and len(str(err.value).splitlines()) == 1


def test_a_bad_pool_template_in_the_problem_is_named(tmp_path, hetero_space):
    spec = serving_problem("ador-hetero", deployment=ServingDeployment(
        policy="disaggregated", decode_hardware="h1000"))
    with pytest.raises(SpecError, match=r"serving\.deployment\.decode_hardware") as err:
        SearchProblem(spec, hetero_space)
    assert len(str(err.value).splitlines()) == 1


def test_disaggregation_needs_fp16_without_pipeline_stages(tmp_path):
    path = _space_file(tmp_path)
    spec = serving_problem(path).model_copy(update={"scenarios": [ProblemScenario(
        batch=32, input_len=128, output_len=128, precision="fp8")]})
    with pytest.raises(SpecError, match="fp16 without pipeline stages"):
        SearchProblem(spec, load_design_space(str(path)))


def test_default_deployment_gives_the_colocated_figures_bit_for_bit(tmp_path, hetero_space):
    plain = SearchProblem(serving_problem("ador-hetero"), hetero_space)
    X = np.array([hetero_space.default_genome()] * 2)
    a = plain.evaluate(X)
    b = plain.evaluate_specs(hetero_space.build(X)[0], serving=[
        {"policy": "colocated", "prefill_instances": 2, "prefill_hardware": "h100"}] * 2)
    for m in SERVING:
        assert np.array_equal(a.metrics[m.column], b.metrics[m.column])


def test_goodput_per_mm2_divides_by_the_deployments_total_silicon():
    """1 H100 prefill + 2 design decode instances at TP 2: 6 chips; goodput per mm² =
    goodput / (2 x area_h100 + 4 x area_design), per chip = goodput / 6."""
    own = {"area_mm2": 500.0, "power_w": 400.0, "cost_usd": 10000.0}
    h100 = {"area_mm2": 800.0, "power_w": 700.0, "cost_usd": 30000.0}
    dep = ServingDeployment(policy="disaggregated", prefill_instances=1, decode_instances=2,
                            prefill_hardware="h100")
    chips, mean = deployment_figures(dep, tp=2, own=own, pool_figures=lambda n, t: h100)
    assert chips == 6
    cols = serving_columns(goodput_per_s=np.array([30.0]), chips=np.array([float(chips)]),
                           ttft_p99_s=np.array([0.1]), tpot_p99_s=np.array([0.02]),
                           static={k: np.array([v]) for k, v in mean.items()})
    assert cols["goodput_per_chip_per_s"][0] == pytest.approx(5.0)
    assert cols["goodput_per_s_per_mm2"][0] == pytest.approx(30.0 / (2 * 800 + 4 * 500))
    assert cols["goodput_per_s_per_w"][0] == pytest.approx(30.0 / (2 * 700 + 4 * 400))
    assert cols["goodput_per_s_per_usd"][0] == pytest.approx(30.0 / (2 * 30000 + 4 * 10000))


def test_a_template_pool_is_costed_at_the_templates_figures(tmp_path):
    path = _space_file(tmp_path)
    space = load_design_space(str(path))
    problem = SearchProblem(serving_problem(path), space)
    h100 = problem.pool_figures("h100", 1)
    X = np.array([[0, 1, 0, 0, 0], [0, 1, 0, 0, 1]], dtype=float)  # 1P1D: own, h100 prefill
    ev = problem.evaluate(X)
    own_area = float(ev.metrics["area_mm2"][0])
    per_chip = ev.metrics["goodput_per_chip_per_s"]
    per_mm2 = ev.metrics["goodput_per_s_per_mm2"]
    assert per_mm2[0] == pytest.approx(2 * per_chip[0] / (2 * own_area))
    assert per_mm2[1] == pytest.approx(2 * per_chip[1] / (own_area + h100["area_mm2"]))


@pytest.mark.slow
def test_pd_search_confirms_designs_with_ador_cluster_reproducibly(cli, tmp_path):
    folder, confirmed, row = cluster_confirmation(_space_file(tmp_path), out=tmp_path / "runs",
                                                  name="pd")
    words = shlex.split(row["command"])
    cluster_yaml = Path(words[words.index("--cluster") + 1])
    assert cluster_yaml.parent.parent == folder and cluster_yaml.exists()
    design_yaml = cluster_yaml.with_name(cluster_yaml.name.replace(".cluster.yaml", ".yaml"))
    assert row["command"] in design_yaml.read_text()
    assert row["command"] in cluster_yaml.read_text()
    reproduced(cli, row)
    summary = json.loads((folder / FILES["summary"]).read_text())
    assert summary["serving"]["confirmation"]["designs"] == len(confirmed)
