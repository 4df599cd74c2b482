"""Every YAML file in the repository loads.

Hardware templates (hwtemplates/**/*.yaml) and workloads (workloads/**/*.yaml) are validated
by kind through ador.spec.io.validate_file. Design-space files under hwtemplates/spaces/ are
not hardware specs: they are only checked to parse here and must be loaded by the tests of
the search-space code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ador.evaluate import evaluate_population
from ador.model.design import DesignArrays
from ador.spec.hardware import HardwareSpec
from ador.spec.io import list_models, list_templates, load_model, read_yaml, validate_file
from ador.spec.model import ModelSpec
from ador.spec.scenario import Scenario, ScenarioFile
from ador.spec.serving import ServingWorkloadSpec
from tests.conftest import (ROOT, SPACES, TEMPLATES, WORKLOADS, hardware_yaml_files,
                            workload_yaml_files)

HARDWARE = hardware_yaml_files()
WORKLOAD = workload_yaml_files()
SPACE_FILES = sorted(SPACES.rglob("*.yaml")) if SPACES.exists() else []


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_repository_has_the_expected_specs():
    assert {"ador-hetero", "ador-systolic", "ador-mactree", "a100-sxm-80gb", "h100-sxm-80gb",
            "h200-sxm-141gb"} <= {p.stem for p in HARDWARE}
    assert {"llama2-7b", "llama2-70b", "llama3-8b", "llama3-70b"} <= set(list_models())
    assert set(list_templates()) == {p.stem for p in TEMPLATES.glob("*.yaml")}


@pytest.mark.parametrize("path", HARDWARE, ids=rel)
def test_hardware_yaml_loads_and_evaluates(path, llama3_8b):
    spec = validate_file(path)
    assert isinstance(spec, HardwareSpec)
    assert spec.name == path.stem
    pop = evaluate_population(designs=DesignArrays.from_specs([spec]), model=llama3_8b,
                              scenario=Scenario(batch=4, input_len=256, output_len=16))
    assert np.isfinite(pop.ttft[0]) and np.isfinite(pop.tpot[0]) and pop.fits_memory[0]


@pytest.mark.parametrize("path", WORKLOAD, ids=rel)
def test_workload_yaml_loads(path):
    spec = validate_file(path)
    if path.parent.name == "models":
        assert isinstance(spec, ModelSpec)
        assert spec.name == path.stem
    elif path.parent.name == "scenarios":
        assert isinstance(spec, ScenarioFile)
        assert spec.name == path.stem
        load_model(spec.model)  # the scenario names a model that exists
    elif path.parent.name == "serving":
        assert isinstance(spec, ServingWorkloadSpec)
        assert spec.name == path.stem
    elif path.parent.name == "clusters":
        from ador.spec.cluster import ClusterSpec
        from ador.spec.io import load_hardware

        assert isinstance(spec, ClusterSpec)
        for pool in (spec.pool, spec.prefill, spec.decode):
            if pool is not None:
                load_hardware(pool.hardware)  # the cluster names hardware that exists
    else:
        assert isinstance(spec, (HardwareSpec, ModelSpec, ScenarioFile))


@pytest.mark.parametrize("path", SPACE_FILES, ids=rel)
def test_design_space_yaml_parses(path):
    assert isinstance(read_yaml(path), dict)


def test_glob_finds_every_yaml():
    everything = set(TEMPLATES.rglob("*.yaml")) | set(WORKLOADS.rglob("*.yaml"))
    assert everything == set(HARDWARE) | set(WORKLOAD) | set(SPACE_FILES)
    assert not list(TEMPLATES.rglob("*.yml")) and not list(WORKLOADS.rglob("*.yml"))
