"""Rich tables for evaluation results (the CLI prints these; nothing here computes)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table

from ador.evaluate.breakdown import Breakdown
from ador.units import format_quantity


def seconds(x: float) -> str:
    return format_quantity(x, "s")


def headline_table(b: Breakdown) -> Table:
    sc = b.scenario
    t = Table(title=f"{b.model} on {b.hardware}: batch {sc.batch}, input {sc.input_len}, "
                    f"output {sc.output_len}, tp {sc.tp}, pp {sc.pp}, "
                    f"{sc.weight_precision.value}/{sc.activation_precision.value}/"
                    f"{sc.kv_precision.value} (w/a/kv)")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("time to first token (ttft)", seconds(b.ttft_s))
    t.add_row("time per output token (tpot)", seconds(b.tpot_s))
    t.add_row("end to end", seconds(b.e2e_s))
    t.add_row("throughput", f"{b.throughput_tok_s:,.1f} tok/s")
    t.add_row(f"throughput per chip ({b.chips} chips)", f"{b.throughput_per_chip_tok_s:,.1f} tok/s")
    return t


def memory_table(b: Breakdown) -> Table:
    t = Table(title="memory per chip")
    t.add_column("part")
    t.add_column("bytes", justify="right")
    for name, value in (("weights", b.weights_bytes), ("KV cache", b.kv_cache_bytes),
                        ("activations (peak)", b.activation_bytes),
                        ("total", b.memory_bytes), ("HBM capacity", b.memory_capacity_bytes)):
        t.add_row(name, format_quantity(value, "B", binary=True))
    t.add_row("fits", "yes" if b.fits_memory else "[red]NO[/red]")
    return t


def utilisation_table(b: Breakdown) -> Table:
    t = Table(title="utilisation (achieved / peak) and time by operator class")
    t.add_column("")
    t.add_column("prefill", justify="right")
    t.add_column("decode step", justify="right")
    for unit in b.prefill.utilisation:
        t.add_row(unit, f"{b.prefill.utilisation[unit]:.1%}", f"{b.decode.utilisation[unit]:.1%}")
    for cls in b.prefill.class_times_s:
        t.add_row(f"time: {cls}", seconds(b.prefill.class_times_s[cls]),
                  seconds(b.decode.class_times_s.get(cls, 0.0)))
    return t


def operators_table(b: Breakdown, *, top: int = 8) -> Table:
    t = Table(title=f"top {top} operators by time (per pass, all layers)")
    for c in ("stage", "operator", "class", "time", "share", "bound"):
        t.add_column(c, justify="right" if c in {"time", "share"} else "left")
    totals = {"prefill": b.prefill.time_s, "decode": b.decode.time_s}
    rows = sorted(b.operators, key=lambda r: r.time_s / totals[r.stage], reverse=True)[:top]
    for r in rows:
        t.add_row(r.stage, r.name, r.op_class, seconds(r.time_s),
                  f"{r.time_s / totals[r.stage]:.1%}", r.bound)
    return t


def efficiency_table(b: Breakdown) -> Table:
    t = Table(title="area, power and cost per chip (ador area for the breakdown)")
    t.add_column("metric")
    t.add_column("value", justify="right")
    if b.area_mm2 is None:
        return t
    t.add_row("die area", f"{b.area_mm2:,.0f} mm²")
    t.add_row("peak power (every unit at once, no limit)", f"{b.peak_power_w:,.0f} W")
    t.add_row("average power (this scenario)", f"{b.power_w:,.0f} W")
    if b.clock_fraction is not None and b.clock_fraction < 1.0:
        t.add_row("clock under the board power limit", f"{b.clock_fraction:.0%} of nominal")
    t.add_row("energy per output token", format_quantity(b.energy_per_token_j or 0.0, "J"))
    if b.energy_per_request_j is not None:
        t.add_row("energy per request", format_quantity(b.energy_per_request_j, "J"))
    t.add_row("cost (die + HBM + packaging)", f"${b.cost_usd:,.0f}")
    t.add_row("tokens/s per mm²", f"{b.tokens_per_s_per_mm2:,.3f}")
    t.add_row("tokens per joule", f"{b.tokens_per_j:,.2f}")
    t.add_row("tokens/s per $", f"{b.tokens_per_s_per_usd:,.3f}")
    return t


def evaluation_view(b: Breakdown) -> Group:
    return Group(headline_table(b), memory_table(b), utilisation_table(b), operators_table(b),
                 efficiency_table(b))


def area_view(*, title: str, area_mm2: dict[str, float], power_w: dict[str, float],
              cost_usd: dict[str, float]) -> Group:
    """Area and peak power by component, and cost, of one design (``ador area``)."""
    def parts(caption: str, values: dict[str, float], unit: str) -> Table:
        t = Table(title=caption)
        t.add_column("component")
        t.add_column(unit, justify="right")
        t.add_column("share", justify="right")
        total = values["total"]
        for name, value in values.items():
            if name != "total":
                t.add_row(name.replace("_", " "), f"{value:,.1f}", f"{value / total:.1%}")
        t.add_row("[bold]total[/bold]", f"[bold]{total:,.1f}[/bold]", "")
        return t

    cost = Table(title="cost per chip")
    cost.add_column("part")
    cost.add_column("USD", justify="right")
    for name in ("die", "hbm", "packaging", "total"):
        cost.add_row(name, f"{cost_usd[name]:,.0f}")
    cost.add_row("dies per wafer, yield",
                 f"{cost_usd['dies_per_wafer']:.1f}, {cost_usd['die_yield']:.1%}")
    return Group(parts(f"{title}: die area", area_mm2, "mm²"),
                 parts("peak power", power_w, "W"), cost)
