"""`ador validate`: predicted vs measured figures from a reference CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ador.cli.common import console, print_json
from ador.validation.compare import to_json, validate_rows
from ador.validation.reference import read_reference


def validate_cmd(
    reference: Annotated[Path, typer.Option("--reference", "-r",
                                            help="CSV of measured figures")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="write a predicted-vs-measured "
                                                             "plot (HTML)")] = None,
) -> None:
    """Compare the model's predictions with measured ttft, tpot, e2e and throughput
    (or, for an energy CSV, power, energy per token and throughput under serving load)."""
    from ador.validation.energy import is_energy_csv

    if is_energy_csv(reference):
        from ador.cli.validate_energy_cmd import validate_energy

        return validate_energy(reference, as_json=as_json, html=html)
    result = validate_rows(read_reference(reference))
    data = to_json(result)
    if html is not None:
        from ador.report.validation_html import write_validation_html

        write_validation_html(data, html)
    if as_json:
        print_json(data)
        return
    table = Table(title=f"validation against {reference}")
    for col in ("id", "hardware", "model", "prec", "tp", "batch", "in", "out", "metric",
                "predicted", "measured", "error"):
        table.add_column(col, justify="right" if col in {"tp", "batch", "in", "out",
                                                         "predicted", "measured",
                                                         "error"} else "left",
                         overflow="fold")  # at 80 columns cells wrap, never cut
    for r in data["rows"]:
        pred = "-" if r["predicted"] is None else f"{r['predicted']:.4g}"
        err = r["error"] if r["error"] else f"{r['signed_error']:+.1%}"
        table.add_row(r["id"], r["hardware"], r["model"], r["precision"], str(r["tp"]),
                      str(r["batch"]), str(r["input_len"]), str(r["output_len"]),
                      f"{r['metric']} [{r['unit']}]", pred, f"{r['measured']:.4g}", err)
    console.print(table)
    groups = Table(title="error by source, hardware and metric")
    for col in ("source", "hardware", "metric", "n", "MAPE", "median", "max"):
        groups.add_column(col, overflow="fold")
    for g in data["groups"]:
        groups.add_row(g["source"][:48], g["hardware"], g["metric"], str(g["n"]),
                       f"{g['mape']:.1%}", f"{g['median_ape']:.1%}", f"{g['max_ape']:.1%}")
    console.print(groups)
    console.print(f"MAPE {data['mape']:.1%}, median {data['median_ape']:.1%}, "
                  f"max {data['max_ape']:.1%} over {data['n']} rows"
                  + (f"; {len(data['errors'])} row(s) could not be predicted"
                     if data["errors"] else ""))
