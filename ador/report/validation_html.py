"""Predicted-vs-measured plot of a validation, written as a self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from ador.spec.io import write_text_atomic


def write_validation_html(data: dict, path: Path) -> None:
    """Log-log scatter of predicted vs measured with the ±10% band (plotly.js embedded)."""
    from ador.report.figdata import validation_data
    from ador.report.figures import validation

    fig = validation(validation_data(data["rows"]))
    write_text_atomic(Path(path), fig.to_html(include_plotlyjs=True, full_html=True))
