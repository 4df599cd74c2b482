"""A serving search's confirmation in the report: estimate-vs-simulator parity rows, the
figure and the table of reproducing commands."""

from __future__ import annotations

import pandas as pd
import pytest

from ador.metrics import SERVING
from ador.report import figdata
from ador.report.html import build_report, render_html
from ador.report.run import load_run
from tests.report.synthetic import make_run


def _confirmed() -> pd.DataFrame:
    cols: dict = {"id": ["d00001", "d00002"], "role": ["pareto", "sample"]}
    for m in SERVING:
        cols[f"est:{m.column}"] = [1.1, 2.0]
        cols[f"sim:{m.column}"] = [1.0, 2.5]
        cols[f"err:{m.column}"] = [0.1, -0.2]
    cols["command"] = ["ador serve a.yaml --goodput", "ador serve b.yaml --goodput"]
    return pd.DataFrame(cols)


def test_confirmation_rows_pair_estimate_and_simulation():
    rows = figdata.confirmation_rows(_confirmed())
    assert len(rows) == 2 * len(SERVING)
    first = rows[0]
    assert first["predicted"] == 1.1 and first["measured"] == 1.0 and first["id"] == "d00001"
    vd = figdata.validation_data(rows)
    assert vd["mape"] == pytest.approx((0.1 + 0.2) / 2)


def test_report_of_a_confirmed_run_has_the_parity_figure_and_commands(tmp_path):
    root = make_run(tmp_path)
    _confirmed().to_csv(root / "confirmed.csv", index=False)
    run = load_run(root)
    assert len(run.confirmed) == 2
    report = build_report(run, evaluate_designs=False)
    assert "confirmation" in [s.key for s in report.sections]
    page = render_html(report)
    assert "Confirmed by the simulator" in page and "ador serve b.yaml --goodput" in page


def test_report_of_a_static_run_has_no_confirmation(tmp_path):
    run = load_run(make_run(tmp_path))
    assert run.confirmed.empty
    assert "confirmation" not in [s.key for s in build_report(run, evaluate_designs=False).sections]
