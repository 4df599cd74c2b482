"""`ador area`: die area, peak power and cost of one design, by component."""

from __future__ import annotations

from typing import Annotated

import typer

from ador.cli.common import console, print_json
from ador.model.area import area
from ador.model.cost import chip_cost
from ador.model.design import DesignArrays
from ador.model.power import peak_power
from ador.report.tables import area_view
from ador.spec.io import load_hardware


def area_report(hardware: str) -> dict:
    """The JSON object of ``ador area --json``: mm², W and USD per chip."""
    hw = load_hardware(hardware)
    d = DesignArrays.from_specs([hw])
    a = area(designs=d)
    p = peak_power(designs=d, area_mm2=a.total)
    c = chip_cost(designs=d, area_mm2=a.total, spare_mm2=a.spares)

    def one(parts: dict, total) -> dict:
        return {**{k: float(v[0]) for k, v in parts.items()}, "total": float(total[0])}

    return {
        "hardware": hw.name,
        "process_node_nm": hw.chip.process_node_nm,
        "area_mm2": one(a.components(), a.total),
        "peak_power_w": one(p.components(), p.total),
        "cost_usd": {"die": float(c.die[0]), "hbm": float(c.hbm[0]),
                     "packaging": float(c.packaging[0]), "total": float(c.total[0]),
                     "dies_per_wafer": float(c.dies_per_wafer[0]),
                     "die_yield": float(c.die_yield[0])},
    }


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
