"""`ador compare`: several designs on one scenario, with ratios to the first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ador.cli.common import build_scenario, console, print_json
from ador.evaluate.compare import COMPARED, compare, comparison_json
from ador.spec.io import load_hardware, load_model
from ador.units import format_quantity

TIME_KEYS = {"ttft_s", "tpot_s", "e2e_s"}


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
) -> None:
    """Compare designs side by side: ttft, tpot, throughput per chip and ratios to the first."""
    specs = [load_hardware(h) for h in hardware]
    scenario = build_scenario(batch=batch, input_len=input_len, output_len=output_len, tp=tp,
                              pp=pp, precision=precision, kv_precision=None)
    result = compare(hardware=specs, model=load_model(model), scenario=scenario)
    data = comparison_json(result)
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{model}: batch {batch}, input {input_len}, output {output_len}, "
                        f"tp {tp}, {precision} (ratios vs {specs[0].name})")
    table.add_column("metric")
    for d in data["designs"]:
        table.add_column(d["hardware"], justify="right")
    for key in data["designs"][0]["ratios"]:
        label, higher = COMPARED.get(key, (key, True))
        cells = []
        for d in data["designs"]:
            value = d[key]
            if key in TIME_KEYS:
                text = format_quantity(value, "s")
            elif key.endswith("_tok_s"):
                text = f"{value:,.1f} tok/s"
            else:
                text = f"{value:,.4g}"
            if d is not data["designs"][0]:
                text += f" ({d['ratios'][key]:.2f}x)"
            cells.append(text)
        table.add_row(label + (" (higher is better)" if higher else ""), *cells)
    table.add_row("fits in memory", *("yes" if d["fits_memory"] else "NO"
                                      for d in data["designs"]))
    console.print(table)
