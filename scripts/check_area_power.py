"""Check the area and power models against the A100, H100 and H200 (same constants for all).

Prints the modelled die area and peak power against the published die sizes and TDPs, and
the A100 breakdown against the one published with LLMCompass (Zhang et al., ISCA 2024):
~822.7 mm² in total, cores ~476 mm², L2 ~119 mm², on-chip interconnect ~76 mm², the
rest (HBM and NVLink PHYs and controllers, host interface, other) ~151.7 mm². The
published figures cover the physical die (128 SMs, 48 MB of L2), so the model's parts are
compared with their yield-harvesting spares included.

Run: .venv/bin/python scripts/check_area_power.py
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ador.model.area import AreaConstants, area
from ador.model.design import DesignArrays
from ador.model.power import peak_power
from ador.spec.io import load_hardware

# name: (die mm², TDP W) from NVIDIA datasheets and whitepapers
TARGETS = {"a100-sxm-80gb": (826.0, 400.0), "h100-sxm-80gb": (814.0, 700.0),
           "h200-sxm-141gb": (814.0, 700.0)}
A100_PUBLISHED = {"cores": 476.0, "L2 (global buffer)": 119.0, "on-chip interconnect": 76.0,
                  "rest (PHYs, controllers, other)": 822.7 - 476.0 - 119.0 - 76.0,
                  "total": 822.7}


def _pct(model: float, target: float) -> str:
    return f"{(model - target) / target:+.1%}"


def main() -> None:
    console = Console()
    names = list(TARGETS)
    d = DesignArrays.from_specs([load_hardware(n) for n in names])
    a = area(designs=d)
    p = peak_power(designs=d, area_mm2=a.total)

    t = Table(title="die area and peak power vs published (one set of constants)")
    for col in ("chip", "area mm²", "die mm²", "residual", "peak W", "TDP W", "residual"):
        t.add_column(col, justify="left" if col == "chip" else "right")
    for i, name in enumerate(names):
        die, tdp = TARGETS[name]
        t.add_row(name, f"{a.total[i]:.1f}", f"{die:.0f}", _pct(a.total[i], die),
                  f"{p.total[i]:.1f}", f"{tdp:.0f}", _pct(p.total[i], tdp))
    console.print(t)

    c = AreaConstants()
    core_spare, mem_spare = 1 + c.spare_core_fraction, 1 + c.spare_memory_fraction
    model = {
        "cores": a.cores[0] * core_spare,
        "L2 (global buffer)": a.global_buffer[0] * mem_spare,
        "on-chip interconnect": a.network_on_chip[0] * core_spare,
        "rest (PHYs, controllers, other)": (a.hbm_interface[0] * mem_spare
                                            + a.p2p_interface[0] + a.host_interface[0]),
        "total": a.total[0],
    }
    b = Table(title="A100 breakdown vs LLMCompass' published one (spares included)")
    for col in ("part", "model mm²", "published mm²", "residual"):
        b.add_column(col, justify="left" if col == "part" else "right")
    for part, published in A100_PUBLISHED.items():
        b.add_row(part, f"{model[part]:.1f}", f"{published:.1f}", _pct(model[part], published))
    console.print(b)

    detail = Table(title="model components per chip (mm², spares separate) and peak power (W)")
    detail.add_column("component")
    for name in names:
        detail.add_column(name, justify="right")
    for part, values in a.components().items():
        detail.add_row(part, *(f"{v:.1f}" for v in values))
    for part, values in p.components().items():
        detail.add_row(f"power: {part}", *(f"{v:.1f}" for v in values))
    console.print(detail)


if __name__ == "__main__":
    main()
