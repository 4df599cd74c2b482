"""`ador validate`: predicted vs measured figures from a reference CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ador.cli.common import console, print_json
from ador.metrics import E2E, OUTPUT_THROUGHPUT, TPOT, TTFT, label
from ador.validation.compare import to_json, validate_rows
from ador.validation.reference import read_reference


def validate_cmd(
    reference: Annotated[Path, typer.Option("--reference", "-r",
                                            help="CSV of measured figures")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="write a predicted-vs-measured "
                                                             "plot (HTML)")] = None,
) -> None:
    """Compare the model's predictions with measured ttft, tpot, e2e and throughput.

    Serving rows (a ``workload`` column: max_load or closed_loop) are simulated with
    'ador serve''s engine; static rows are evaluated as one batch; an energy CSV (power,
    energy per token and throughput under serving load) goes to the power model."""
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
    table = Table(title=f"validation against {reference}", box=box.SIMPLE_HEAD,
                  padding=(0, 1), pad_edge=False)
    for col in ("id", "setup", "load", "metric", "predicted", "measured", "error"):
        # figures never wrap; the setup is two short lines (chip, precision, tp; model,
        # input/output tokens) and folds in a narrower terminal
        table.add_column(col, justify="left" if col in {"id", "setup", "metric"} else "right",
                         no_wrap=col in {"id", "predicted", "measured", "error"},
                         overflow="fold",
                         min_width={"error": 7}.get(col),
                         max_width={"setup": 18, "load": 8, "metric": 10}.get(col))
    for r in data["rows"]:
        pred = "-" if r["predicted"] is None else _figure(r["predicted"])
        err = r["error"] if r["error"] else f"{r['signed_error']:+.1%}"
        table.add_row(r["id"], f"{_short(r['hardware'])} {r['precision']} tp{r['tp']}\n"
                               f"{r['model']} {r['input_len']}/{r['output_len']}",
                      _batch(r), f"{METRIC_LABELS.get(r['metric'], r['metric'])} {r['unit']}",
                      pred, _figure(r["measured"]), err)
    console.print(table)
    print_groups(data)


def print_groups(data: dict, *, note: str = "") -> None:
    """The error by source, hardware and metric, and the overall line (``note`` added)."""
    groups = Table(title="error by source, hardware and metric")
    for col in ("source", "hardware", "metric", "n", "MAPE", "median", "max"):
        groups.add_column(col, overflow="fold")
    for g in data["groups"]:
        groups.add_row(g["source"][:48], g["hardware"], g["metric"], str(g["n"]),
                       f"{g['mape']:.1%}", f"{g['median_ape']:.1%}", f"{g['max_ape']:.1%}")
    console.print(groups)
    console.print(f"MAPE {data['mape']:.1%}, median {data['median_ape']:.1%}, "
                  f"max {data['max_ape']:.1%} over {data['n']} rows{note}"
                  + (f"; {len(data['errors'])} row(s) could not be predicted"
                     if data["errors"] else ""))


METRIC_LABELS = {TTFT.name: label(TTFT), TPOT.name: label(TPOT), "e2e_latency": label(E2E),
                 "static_throughput_per_gpu": "per GPU", OUTPUT_THROUGHPUT.name: "out",
                 "mean_ttft": "mean TTFT", "mean_itl": "mean ITL"}


def _batch(row: dict) -> str:
    """The static batch (``b16``), or the serving load (``max`` load, ``N users``)."""
    if row.get("workload") == "closed_loop":
        return f"{row['concurrency']} users"
    if row.get("workload"):
        return "max" if row["workload"] == "max_load" else row["workload"]
    return f"b{row['batch']}"


def _short(hardware: str) -> str:
    """Template names without the memory suffix (``a100-sxm-80gb`` -> ``a100-sxm``)."""
    head, _, tail = hardware.rpartition("-")
    return head if head and tail.endswith("gb") else hardware


def _figure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
