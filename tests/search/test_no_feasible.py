"""When no design is feasible the message names what blocks it, honestly."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ador.search.explore import no_feasible_error
from ador.search.problem import SearchProblem
from ador.spec.problem import Budgets, Slo
from tests.search.conftest import small_problem


def _problem(small_space) -> SearchProblem:
    spec = small_problem(slo=Slo(tpot_s=0.05), budgets=Budgets(area_mm2=500.0))
    return SearchProblem(spec, small_space)


def test_each_constraint_met_by_some_design_but_none_all(small_space):
    p = _problem(small_space)
    names = p.constraints
    G = np.full((2, len(names)), -1.0)
    G[0, names.index("tpot")] = 0.2   # design 0 misses tpot by 20%
    G[1, names.index("area")] = 0.1   # design 1 misses area by 10%
    err = no_feasible_error(p, SimpleNamespace(G=G, n=2), folder=Path("f"), config_file="c")
    assert "each constraint is met by some design, none meets all together" in err.rule
    assert "d00001" in err.rule and "by 10.0%" in err.rule and "-" not in err.rule.split(
        "by ")[1][:2]


def test_one_constraint_met_by_none_is_named(small_space):
    p = _problem(small_space)
    names = p.constraints
    G = np.full((2, len(names)), -1.0)
    G[:, names.index("tpot")] = [0.3, 0.2]
    err = no_feasible_error(p, SimpleNamespace(G=G, n=2), folder=Path("f"), config_file="c")
    assert "constraint 'tpot' cannot be met" in err.rule and "20.0%" in err.rule
