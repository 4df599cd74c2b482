"""Constraints as one table: the power-density budget, reasons, and what baselines are held to;
the energy-per-request metric; the backend table."""

from __future__ import annotations

import numpy as np
import pytest

from ador.evaluate import evaluate
from ador.metrics import BY_NAME, OBJECTIVES
from ador.search.backends import BACKENDS
from ador.search.constraints import CONSTRAINTS, active_constraints
from ador.search.problem import SearchProblem
from ador.search.space import load_design_space
from ador.spec.problem import ProblemSpec, SearchSettings
from ador.spec.scenario import Scenario
from tests.conftest import hardware, model


def test_energy_per_request_is_energy_per_token_times_output_tokens():
    sc = Scenario(batch=16, input_len=256, output_len=100)
    b = evaluate(hardware=hardware("ador-hetero"), model=model("llama3-8b"), scenario=sc)
    assert b.energy_per_request_j == pytest.approx(b.energy_per_token_j * sc.output_len,
                                                   rel=1e-12)
    assert "energy_per_request" in OBJECTIVES


def test_power_density_budget_is_peak_power_over_area_and_binds_designs_only():
    b = evaluate(hardware=hardware("a100"), model=model("llama3-8b"),
                 scenario=Scenario(batch=8, input_len=128, output_len=16))
    assert b.power_density_w_per_mm2 == pytest.approx(b.peak_power_w / b.area_mm2)
    # TDP over die area: A100 400 W / 826 mm² = 0.48, H100 SXM 700 W / 814 mm² = 0.86 W/mm²
    # (NVIDIA datasheets and whitepapers); the model's peak power is within 10% of TDP.
    assert 0.35 < b.power_density_w_per_mm2 < 0.7
    spec = ProblemSpec(budgets={"power_density_w_per_mm2": "0.05 W/mm2"}, baselines=[],
                       search=SearchSettings(pop_size=4, generations=1))
    problem = SearchProblem(spec, load_design_space("ador-small"))
    assert problem.constraints[-1] == "power_density"
    c = problem.constraint_defs[-1]
    assert c.design_budget and c.limit(spec) == pytest.approx(0.05)
    ev = problem.evaluate(np.array([problem.space.default_genome()]))
    g = ev.G[0, -1]
    density = ev.metrics["power_density_w_per_mm2"][0]
    assert g == pytest.approx(density / 0.05 - 1.0) and g > 0
    assert "exceeds the limit" in c.reason(g, spec)


def test_every_limited_metric_has_a_constraint_and_unset_limits_are_inactive():
    limited = {m.name for m in BY_NAME.values() if m.limit}
    assert limited <= {c.name for c in CONSTRAINTS}
    names = [c.name for c in active_constraints(ProblemSpec(budgets={}, slo={}))]
    assert names == ["valid", "supported", "memory"]


def test_every_backend_of_the_spec_has_an_adapter():
    from typing import get_args

    assert set(BACKENDS) == set(get_args(SearchSettings.model_fields["backend"].annotation))
