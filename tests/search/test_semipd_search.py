"""semi-PD as knobs of a joint search: the worker-share knobs, their validation, the
estimated figures of a semi-PD design and the ``ador cluster`` confirmation that
reproduces exactly."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest

from ador.errors import SpecError
from ador.model.design import DesignArrays
from ador.search.problem import SearchProblem, design_keys
from ador.search.space import load_design_space
from ador.serve.estimate_semipd import estimate_semi_pd
from ador.spec.io import load_cluster, to_data, validate_data
from ador.spec.problem import ProblemSpec, ServingDeployment
from tests.search.conftest import (
    cluster_confirmation,
    reproduced,
    serving_problem,
    space_file,
)

SEMI_SPACE = """
name: semi
base: ador-hetero
knobs:
  - {name: mt_count, path: chip.units.mac_tree.count, type: int, values: [32, 64]}
  - {name: policy, path: serving.policy, type: choice, values: [colocated, semi_pd]}
  - {name: prefill_share, path: serving.prefill_share, type: choice, values: [0.5, 0.8]}
  - {name: decode_share, path: serving.decode_share, type: choice, values: [0.4, 1.0]}
"""


def _space_file(tmp_path: Path, text: str = SEMI_SPACE) -> Path:
    return space_file(tmp_path, text, name="semi")


def test_share_knobs_set_the_deployment_and_are_inert_when_colocated(tmp_path):
    path = _space_file(tmp_path)
    space = load_design_space(str(path))
    problem = SearchProblem(serving_problem(path), space)
    assert problem.serving is not None
    X = np.array([[0, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 1]], dtype=float)
    deps = problem.serving.deployments(space.serving(X))
    assert deps[0].policy == "colocated"
    assert deps[1] == ServingDeployment(policy="semi_pd", prefill_share=0.5, decode_share=0.4)
    assert deps[2] == ServingDeployment(policy="semi_pd", prefill_share=0.8, decode_share=1.0)
    keys = design_keys(space, X)
    assert keys[1] != keys[2]
    Y = np.array([[0, 0, 0, 0], [0, 0, 1, 1]], dtype=float)  # colocated: shares do nothing
    assert design_keys(space, Y)[0] == design_keys(space, Y)[1]


@pytest.mark.parametrize("knob", [
    "{name: pshare, path: serving.prefill_share, type: choice, values: [0.5, 1.2]}",
    "{name: dshare, path: serving.decode_share, type: choice, values: [0, 1]}",
    "{name: dshare, path: serving.decode_share, type: real, low: -0.5, high: 1.0, step: 0.5}",
])
def test_a_share_outside_0_1_is_refused_in_one_line_naming_the_knob(tmp_path, knob):
    path = _space_file(tmp_path, f"name: j\nbase: ador-hetero\nknobs:\n  - {knob}\n")
    with pytest.raises(SpecError, match="not a valid serving setting") as err:
        load_design_space(str(path))
    text = str(err.value)
    name = knob.split(",")[0].split(": ")[1]
    assert f"knob '{name}'" in text and "knobs[0]" in text and len(text.splitlines()) == 1


def test_a_share_outside_0_1_in_the_problem_is_named():
    data = to_data(serving_problem(Path("semi.yaml")))
    data["serving"]["deployment"] = {"policy": "semi_pd", "prefill_share": 1.5}
    with pytest.raises(SpecError, match=r"serving\.deployment\.prefill_share") as err:
        validate_data(ProblemSpec, data, file="p.yaml")
    assert len(str(err.value).splitlines()) == 1 and "p.yaml" in str(err.value)


def test_a_semi_pd_designs_figures_are_its_one_instances(tmp_path):
    """Goodput per chip of a semi-PD design = the semi-PD estimate's goodput over its tp
    chips (one instance of the design; per mm² over the design's own area)."""
    path = _space_file(tmp_path)
    space = load_design_space(str(path))
    problem = SearchProblem(serving_problem(path), space)
    s = problem.serving
    assert s is not None
    X = np.array([[0, 1, 0, 0], [0, 1, 1, 1]], dtype=float)
    ev = problem.evaluate(X)
    specs, _ = space.build(X)
    est = estimate_semi_pd(
        designs=DesignArrays.from_specs(specs), model=s.model, tp=np.ones(2, dtype=int),
        prompt_tokens=s.requests.prompt_tokens, output_tokens=s.requests.output_tokens,
        scheduler=s.scheduler, prefill_share=np.array([0.5, 0.8]),
        decode_share=np.array([0.4, 1.0]), rate_per_s=s.rate_per_s, ttft_slo_s=s.ttft_slo_s,
        tpot_slo_s=s.tpot_slo_s, attainment=s.attainment)
    assert np.array_equal(ev.metrics["goodput_per_chip_per_s"], est.goodput_per_s)
    assert np.array_equal(ev.metrics["tpot_p99_s"], est.tpot_p99_s)
    assert np.allclose(ev.metrics["goodput_per_s_per_mm2"],
                       est.goodput_per_s / ev.metrics["area_mm2"])


@pytest.mark.slow
def test_semi_pd_search_confirms_designs_with_ador_cluster_reproducibly(cli, tmp_path):
    _, _, row = cluster_confirmation(_space_file(tmp_path), out=tmp_path / "runs", name="semi")
    words = shlex.split(row["command"])
    cluster_yaml = Path(words[words.index("--cluster") + 1])
    cluster = load_cluster(cluster_yaml)
    assert cluster.policy == "semi_pd" and cluster.main_pool.count == 1
    assert "Semi-PD deployment" in cluster_yaml.read_text()
    data = reproduced(cli, row)
    assert data["chips"] == row["tp"]  # the workers share the instance's chips
