"""`ador area`: die area, peak power and cost of one design, by component."""

from __future__ import annotations

from typing import Annotated

import typer

from ador.cli.common import console, print_json
from ador.evaluate.efficiency import chip_report
from ador.report.tables import area_view
from ador.spec.io import load_hardware


def area_report(hardware: str) -> dict:
    """The JSON object of ``ador area --json``: mm², W and USD per chip."""
    return chip_report(load_hardware(hardware))


def area_cmd(
    hardware: Annotated[str, typer.Argument(help="hardware YAML path or template name")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Die area and peak power by component, and cost per chip, of a hardware design."""
    report = area_report(hardware)
    if as_json:
        print_json(report)
        return
    console.print(area_view(
        title=f"{report['hardware']} ({report['process_node_nm']} nm)",
        area_mm2=report["area_mm2"], power_w=report["peak_power_w"],
        cost_usd=report["cost_usd"]))
