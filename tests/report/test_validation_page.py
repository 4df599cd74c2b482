"""The validation page: one parity panel per unit and a table of every row."""

from __future__ import annotations

from ador.report.validation_html import validation_page

ROWS = [
    {"id": "r1", "hardware": "h100", "model": "llama3-8b", "metric": "ttft", "unit": "ms",
     "predicted": 30.0, "measured": 31.0, "signed_error": -0.032},
    {"id": "r2", "hardware": "a100", "model": "llama3-8b", "metric": "ttft", "unit": "ms",
     "predicted": 14.0, "measured": 16.0, "signed_error": -0.125},
    {"id": "r3", "hardware": "h100", "model": "llama3-8b", "metric": "throughput",
     "unit": "tok/s", "predicted": 6700.0, "measured": 6944.0, "signed_error": -0.035},
]


def test_one_panel_per_unit_and_a_row_table():
    page = validation_page({"rows": ROWS})
    assert page.count("class='panel'") == 2
    assert "data-unit='ms'" in page and "data-unit='tok/s'" in page
    assert page.count("<tr>") == 1 + len(ROWS)
    assert "-12.5%" in page and "6,944" in page
