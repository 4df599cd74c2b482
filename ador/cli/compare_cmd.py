"""`ador compare`: several designs on one scenario, with ratios to the first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ador.cli.common import build_scenario, console, memory_error, print_json
from ador.evaluate.compare import compare, comparison_json
from ador.metrics import BY_COLUMN, FITS_MEMORY
from ador.spec.io import load_hardware, load_model


def compare_cmd(
    hardware: Annotated[list[str], typer.Argument(help="hardware YAML paths or template names; "
                                                       "ratios are to the first")],
    model: Annotated[str, typer.Option("--model", "-m")] = "llama3-8b",
    batch: Annotated[int, typer.Option("--batch", "-b")] = 16,
    input_len: Annotated[int, typer.Option("--input-len", "-i")] = 1024,
    output_len: Annotated[int, typer.Option("--output-len", "-o")] = 256,
    tp: Annotated[int, typer.Option("--tp")] = 1,
    pp: Annotated[int, typer.Option("--pp")] = 1,
    precision: Annotated[str, typer.Option("--precision", "-p")] = "fp16",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    allow_overflow: Annotated[bool, typer.Option(
        help="compare even designs the model does not fit (marked per column)")] = False,
) -> None:
    """Compare designs side by side: ttft, tpot, throughput per chip and ratios to the first."""
    specs = [load_hardware(h) for h in hardware]
    scenario = build_scenario(batch=batch, input_len=input_len, output_len=output_len, tp=tp,
                              pp=pp, precision=precision, kv_precision=None)
    result = compare(hardware=specs, model=load_model(model), scenario=scenario)
    if not allow_overflow:
        for hw, b in zip(specs, result.results, strict=True):
            if not b.fits_memory:
                raise memory_error(model=result.model, batch=batch,
                                   tokens=input_len + output_len, needs_bytes=b.memory_bytes,
                                   hardware=hw.name, capacity_bytes=b.memory_capacity_bytes)
    data = comparison_json(result)
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{model}: batch {batch}, input {input_len}, output {output_len}, "
                        f"tp {tp}, {precision} (ratios vs {specs[0].name})")
    table.add_column("metric")
    for d in data["designs"]:
        fits = d[FITS_MEMORY.column]
        table.add_column(d["hardware"] + ("" if fits else " (does not fit)"), justify="right",
                         overflow="fold")
    for key in data["designs"][0]["ratios"]:
        m = BY_COLUMN.get(key)
        label = m.compared or m.title if m else key
        cells = []
        for d in data["designs"]:
            text = m.text(d[key]) if m else f"{d[key]:,.4g}"
            if d is not data["designs"][0]:
                text += f" ({d['ratios'][key]:.2f}x)"
            cells.append(text)
        table.add_row(label + (" (higher is better)" if m and m.higher_is_better else ""),
                      *cells)
    table.add_row("fits in memory", *("yes" if d[FITS_MEMORY.column] else "NO"
                                      for d in data["designs"]))
    console.print(table)
