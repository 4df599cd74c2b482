"""The backend-neutral problem: objective signs, constraints, scenarios, tp groups."""

from __future__ import annotations

import numpy as np
import pytest

from ador.evaluate.engine import evaluate_population
from ador.model.design import DesignArrays
from ador.search.problem import PENALTY, SearchProblem
from ador.spec.io import load_model
from ador.spec.problem import Budgets, ProblemScenario, ProblemSpec, Slo
from tests.search.conftest import small_problem


def random_genomes(space, n, seed=0):
    rng = np.random.default_rng(seed)
    return space.repair(rng.uniform(space.xl, space.xu, size=(n, space.n_var)))


def test_shapes_and_signs(small):
    X = random_genomes(small.space, 50)
    ev = small.evaluate(X)
    assert ev.F.shape == (50, 2) and ev.G.shape == (50, small.n_constr)
    ok = ev.G[:, 0] <= 0
    np.testing.assert_array_equal(ev.F[ok, 0], -ev.metrics["throughput_per_chip_tok_s"][ok])
    np.testing.assert_array_equal(ev.F[ok, 1], ev.metrics["area_mm2"][ok])
    assert np.all(np.isfinite(ev.F)) and np.all(np.isfinite(ev.G))


def test_metrics_equal_a_direct_evaluation(small):
    X = random_genomes(small.space, 20, seed=1)
    ev = small.evaluate(X)
    specs, _ = small.space.build(X)
    sc = small.spec.scenarios[0]
    direct = evaluate_population(designs=DesignArrays.from_specs(specs),
                                 model=load_model(sc.model), scenario=sc.scenario())
    np.testing.assert_array_equal(ev.metrics["tpot_s"], direct.tpot)
    np.testing.assert_array_equal(ev.metrics["ttft_s"], direct.ttft)


def test_tp_knob_groups_designs_by_degree(hetero_space):
    p = SearchProblem(small_problem(space="ador-hetero"), hetero_space)
    X = random_genomes(hetero_space, 64, seed=2)
    ev = p.evaluate(X)
    tp = hetero_space.tp(X)
    np.testing.assert_array_equal(ev.metrics["tp"], tp)
    for t in np.unique(tp):
        idx = np.flatnonzero(tp == t)
        specs, _ = hetero_space.build(X[idx])
        sc = p.spec.scenarios[0]
        direct = evaluate_population(designs=DesignArrays.from_specs(specs),
                                     model=load_model(sc.model), scenario=sc.scenario(tp=t))
        np.testing.assert_array_equal(ev.metrics["tpot_s"][idx], direct.tpot)
    chips = ev.metrics["chips"]
    assert np.all((ev.G[:, 1] > 0) == (tp > chips))


def test_slo_and_budget_constraints(small_space):
    spec = small_problem(slo=Slo(tpot_s=0.02), budgets=Budgets(area_mm2=600.0))
    p = SearchProblem(spec, small_space)
    ev = p.evaluate(random_genomes(small_space, 200, seed=4))
    m, names = ev.metrics, p.constraints
    assert names == ["valid", "supported", "memory", "tpot", "area"]
    np.testing.assert_allclose(ev.G[:, 3], m["tpot_s"] / 0.02 - 1)
    np.testing.assert_allclose(ev.G[:, 4], m["area_mm2"] / 600.0 - 1)
    feasible = (m["tpot_s"] <= 0.02) & (m["area_mm2"] <= 600) & (m["fits_memory"] > 0)
    np.testing.assert_array_equal(ev.feasible, feasible)


def test_invalid_designs_are_infeasible_with_penalty(hetero_space):
    p = SearchProblem(small_problem(space="ador-hetero"), hetero_space)
    g = hetero_space.default_genome()
    g[hetero_space.names.index("sa_count")] = 0
    g[hetero_space.names.index("mt_count")] = 0
    ev = p.evaluate(np.array([g]))
    assert ev.G[0, 0] > 0 and not ev.feasible[0] and np.all(ev.F[0] == PENALTY)


def test_several_scenarios_worst_latency_and_geometric_mean(small_space):
    a = ProblemScenario(name="short", batch=16, input_len=128, output_len=64)
    b = ProblemScenario(name="long", batch=64, input_len=512, output_len=256)
    p = SearchProblem(small_problem(scenarios=[a, b]), small_space)
    ev = p.evaluate(random_genomes(small_space, 30, seed=5))
    s, l = ev.per_scenario["short"], ev.per_scenario["long"]
    np.testing.assert_array_equal(ev.metrics["tpot_s"], np.maximum(s["tpot_s"], l["tpot_s"]))
    np.testing.assert_allclose(ev.metrics["throughput_per_chip_tok_s"], np.sqrt(
        s["throughput_per_chip_tok_s"] * l["throughput_per_chip_tok_s"]))


def test_problem_spec_rejects_bad_input():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ProblemSpec(objectives=["speed"])
    with pytest.raises(ValidationError):
        ProblemSpec(objectives=["tpot", "tpot"])
    with pytest.raises(ValidationError):
        ProblemSpec(slo=Slo(tpot_s=-1))
    assert ProblemSpec(budgets=Budgets(area_mm2="826 mm2")).budgets.area_mm2 == 826.0
