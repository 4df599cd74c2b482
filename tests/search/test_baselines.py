"""Baselines deployed as a user would: smallest tp at which the model fits and the SLOs hold,
a reason where none exists (and no ratio), and budgets they break marked in every table."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from ador.report.search_tables import pareto_table, ratio_title
from ador.search.baselines import comparison_frame, evaluate_baselines
from ador.search.problem import SearchProblem
from ador.spec.io import load_hardware
from ador.spec.problem import ProblemScenario, ProblemSpec, Slo
from tests.search.conftest import small_problem


def _problem(small_space, **kw) -> SearchProblem:
    return SearchProblem(small_problem(**kw), small_space)


def test_70b_baselines_run_at_smallest_tp_that_fits_and_meets_slo(small_space):
    sc = ProblemScenario(model="llama3-70b", batch=16, input_len=512, output_len=128)
    slo = Slo(ttft_s=5.0, tpot_s=0.2)
    p = _problem(small_space, scenarios=[sc], slo=slo, baselines=["a100", "h100", "h200"])
    rows = evaluate_baselines(p).set_index("baseline")
    # 70B in fp16 is 141 GB of weights: never at tp 1 on an 80 GB GPU
    assert rows.loc["a100", "tp"] >= 2 and rows.loc["h100", "tp"] >= 2
    for name, r in rows.iterrows():
        assert r["usable"] == 1 and r["reason"] == "" and r["fits_memory"] == 1
        assert r["ttft_s"] <= slo.ttft_s and r["tpot_s"] <= slo.tpot_s
        if r["tp"] > 1:  # at half the tp it does not fit or misses an SLO
            half = p.evaluate_specs([load_hardware(str(name))], tp=np.array([r["tp"] // 2]))
            assert half.metrics["fits_memory"][0] == 0 or (
                half.metrics["ttft_s"][0] > slo.ttft_s or half.metrics["tpot_s"][0] > slo.tpot_s)


def test_unsupported_precision_gives_reason_and_no_ratio(small_space):
    sc = ProblemScenario(batch=32, input_len=128, output_len=128, precision="fp8")
    p = _problem(small_space, scenarios=[sc], baselines=["a100", "h100"])
    rows = evaluate_baselines(p).set_index("baseline")
    assert rows.loc["a100", "usable"] == 0
    assert rows.loc["a100", "reason"] == "no fp8 support"
    assert np.isnan(rows.loc["a100", "tpot_s"])  # no figures for a deployment that cannot run
    assert rows.loc["h100", "usable"] == 1
    cmp = comparison_frame(rows.reset_index().assign(id="d0").iloc[[1]], rows.reset_index())
    assert list(cmp["baseline"]) == ["h100"]
    assert "left out: a100 (no fp8 support)" in ratio_title(rows.reset_index())


def test_model_that_fits_nowhere_is_named(small_space):
    sc = ProblemScenario(model="llama3-70b", batch=512, input_len=4096, output_len=4096)
    p = _problem(small_space, scenarios=[sc], baselines=["a100"])
    r = evaluate_baselines(p).iloc[0]
    assert r["usable"] == 0 and r["reason"] == "does not fit in 80 GB at tp<=8"


def test_slo_missed_everywhere_says_which(small_space):
    p = _problem(small_space, slo=Slo(tpot_s=1e-4), baselines=["h100"])
    r = evaluate_baselines(p).iloc[0]
    assert r["usable"] == 0
    assert r["reason"].startswith("misses the SLO at every tp<=8 (tpot ")


def test_baseline_over_budget_is_marked_in_every_table(small_space):
    spec = ProblemSpec(space="ador-small", baselines=["h100", "h200"])
    p = SearchProblem(spec, small_space)
    rows = evaluate_baselines(p)
    by = rows.set_index("baseline")
    assert by.loc["h100", "over_budget"] == ""
    assert by.loc["h200", "over_budget"].startswith("hbm_bw 4.8 TB/s > 3.35 TB/s")
    title = ratio_title(rows)
    assert "included: h100, h200* (* breaks a budget)" in title
    console = Console(width=80, record=True)
    console.print(pareto_table(rows.iloc[:0].assign(id=[]), rows, title="t"))
    text = console.export_text()
    assert "h200*" in text and "h200*: breaks the budget, hbm_bw" in text


@pytest.mark.parametrize("tp", [1, 2])
def test_baselines_do_not_depend_on_the_scenario_tp(small_space, tp):
    sc = ProblemScenario(batch=32, input_len=128, output_len=128, tp=tp)
    rows = evaluate_baselines(_problem(small_space, scenarios=[sc]))
    assert rows.iloc[0]["tp"] == 1  # 8B fits an A100 at tp 1 and meets no-SLO trivially


def test_default_problem_has_a_power_budget_its_reference_gpu_meets(hetero_space):
    spec = ProblemSpec(baselines=["h100"])
    assert spec.budgets.power_w == 700.0  # H100 SXM5 board power (datasheet)
    row = evaluate_baselines(SearchProblem(spec, hetero_space)).iloc[0]
    # the modelled H100 meets every default budget: area, HBM bandwidth and power
    assert row["usable"] == 1 and row["over_budget"] == "" and row["feasible"] == 1
    assert row["power_w"] <= spec.budgets.power_w
    assert row["area_mm2"] <= spec.budgets.area_mm2
