"""Shared pieces of the search tests: small problems that evaluate in milliseconds."""

from __future__ import annotations

import pytest

from ador.search.problem import SearchProblem
from ador.search.space import load_design_space
from ador.spec.problem import Budgets, ProblemScenario, ProblemSpec, SearchSettings, Slo


def small_problem(**overrides) -> ProblemSpec:
    data = {"name": "t", "space": "ador-small",
            "scenarios": [ProblemScenario(batch=32, input_len=128, output_len=128)],
            "slo": Slo(), "budgets": Budgets(), "objectives": ["throughput_per_chip", "area"],
            "baselines": ["a100"], "search": SearchSettings(pop_size=16, generations=3)}
    data.update(overrides)
    return ProblemSpec(**data)


@pytest.fixture(scope="session")
def small_space():
    return load_design_space("ador-small")


@pytest.fixture(scope="session")
def hetero_space():
    return load_design_space("ador-hetero")


@pytest.fixture
def small(small_space):
    return SearchProblem(small_problem(), small_space)
