"""Predicted-vs-measured page of a validation, written as a self-contained HTML file: one
parity panel per unit (milliseconds and tokens per second never share an axis) and a table
of every row."""

from __future__ import annotations

import html
from pathlib import Path

from ador.spec.io import write_text_atomic

COLUMNS = (("id", "id"), ("hardware", "hardware"), ("model", "model"), ("metric", "metric"),
           ("unit", "unit"), ("predicted", "predicted"), ("measured", "measured"),
           ("signed_error", "error"))


def _cell(key: str, value: object) -> str:
    if value is None:
        return "-"
    if key == "signed_error" and isinstance(value, (int, float)):
        return f"{value:+.1%}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def validation_page(data: dict) -> str:
    """The page's HTML: a log-log parity panel per unit with the ±10% band, then the
    table."""
    from ador.report.figdata import validation_data
    from ador.report.figures import validation

    rows = list(data.get("rows", []))
    units = list(dict.fromkeys(str(r.get("unit", "")) for r in rows))
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>ador validation</title></head><body>", "<h1>Predicted vs measured</h1>"]
    first = True
    for unit in units:
        mine = [r for r in rows if str(r.get("unit", "")) == unit]
        vd = validation_data(mine)
        if vd["points"].empty:
            continue
        fig = validation(vd, title=f"Predicted vs measured [{unit or 'no unit'}]")
        parts.append(f"<section class='panel' data-unit='{html.escape(unit)}'>"
                     + fig.to_html(full_html=False, include_plotlyjs=first,
                                   include_mathjax=False) + "</section>")
        first = False
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(k, r.get(k)))}</td>"
                                    for k, _ in COLUMNS) + "</tr>" for r in rows)
    parts.append(f"<h2>Rows</h2><table id='rows'><thead><tr>{head}</tr></thead>"
                 f"<tbody>{body}</tbody></table></body></html>")
    return "\n".join(parts)


def write_validation_html(data: dict, path: Path) -> None:
    write_text_atomic(Path(path), validation_page(data))
