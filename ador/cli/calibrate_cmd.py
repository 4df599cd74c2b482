"""`ador calibrate`: fit the GPU templates' efficiencies on measured operator data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ador.cli.common import console, print_json
from ador.spec.io import hardware_path, replace_calibration_block


def calibrate_cmd(
    write: Annotated[bool, typer.Option(help="store the fitted parameters in the templates")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Fit GPU efficiencies on per-operator kernel times and print operator-level MAPE."""
    from ador.calibration.run import MEASURED, calibrate_all  # pandas and scipy: load on use

    results = calibrate_all(tuple(MEASURED))
    if write:
        for r in results:
            replace_calibration_block(hardware_path(r.hardware), r.calibration)
    if as_json:
        print_json({r.hardware: {
            "calibration": r.calibration.model_dump(mode="json"),
            "errors": [e.__dict__ for e in r.errors]} for r in results})
        return
    for r in results:
        params = Table(title=f"{r.hardware}: fitted parameters")
        params.add_column("parameter")
        params.add_column("value", justify="right")
        for key, value in r.calibration.model_dump().items():
            if key != "source":
                params.add_row(key, f"{value:.4g}")
        errors = Table(title=f"{r.hardware}: operator-level error vs measured kernels")
        for col in ("operator type", "rows", "MAPE", "median APE", "max APE"):
            errors.add_column(col, justify="left" if col == "operator type" else "right")
        for e in r.errors:
            errors.add_row(e.op_type, str(e.rows), f"{e.mape:.1%}", f"{e.median_ape:.1%}",
                           f"{e.max_ape:.1%}")
        console.print(params, errors)
    if write:
        console.print("wrote the calibration blocks of: " + ", ".join(r.hardware for r in results))
