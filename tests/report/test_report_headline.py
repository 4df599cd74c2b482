"""The report carries the CLI's headline (ratios to the baselines), budgets in human units,
numbers without exponent notation; the Pareto scatter marks the front of its own axes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ador.metrics import BY_NAME
from ador.report.figdata import front_of_axes, pareto_scatter_data
from ador.report.html import build_report, number_text, render_html
from ador.report.run import load_run
from ador.search.explore import run_search
from ador.spec.problem import Budgets, SearchSettings, Slo
from tests.search.conftest import small_problem


def test_report_has_ratio_table_human_budgets_and_plain_numbers(tmp_path):
    spec = small_problem(baselines=["a100", "h200"], slo=Slo(tpot_s=0.1),
                         budgets=Budgets(area_mm2=814.0, hbm_bandwidth_bytes_per_s=3.35e12),
                         search=SearchSettings(pop_size=12, generations=2))
    result = run_search(spec, out_dir=tmp_path)
    run = load_run(result.folder)
    page = render_html(build_report(run, evaluate_designs=False))
    assert "Against the baselines" in page and "included: a100, h200*" in page
    assert "h200*: breaks the budget, hbm_bw 4.8 TB/s &gt; 3.35 TB/s" in page
    assert "area &lt;= 814 mm²" in page and "HBM bandwidth &lt;= 3.35 TB/s" in page
    assert "tpot &lt;= 100 ms" in page
    assert not re.search(r"\d\.\d+e[+-]\d\d", page.split("<section id='pareto'")[0])


def test_number_text():
    assert number_text(16051.04) == "16,051" and number_text(0.37123) == "0.3712"
    assert "e" not in number_text(1.605e4)


def test_scatter_marks_the_front_of_the_plotted_axes():
    x, y = BY_NAME["throughput_per_chip"], BY_NAME["area"]
    d = pd.DataFrame({"id": ["a", "b", "c", "d"], "feasible": [1, 1, 1, 0],
                      "throughput_per_chip_tok_s": [100.0, 200.0, 150.0, 500.0],
                      "area_mm2": [100.0, 300.0, 400.0, 50.0]})
    # c is worse than b on both axes; d is infeasible
    assert front_of_axes(d, [x, y]) == {"a", "b"}
    data = pareto_scatter_data(d, d.iloc[[2]], pd.DataFrame(), axes=[x, y])
    assert set(data.loc[data["group"] == "pareto", "label"]) == {"a", "b"}
    assert np.all(data.loc[data["label"] == "c", "group"] == "explored")
