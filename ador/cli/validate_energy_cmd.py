"""`ador validate --reference ENERGY.csv`: measured power and energy under serving load."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from ador.cli.common import console, print_json


def validate_energy(reference: Path, *, as_json: bool, html: Path | None = None) -> None:
    from ador.cli.validate_cmd import print_groups
    from ador.validation.energy import (
        ASSUMED_MEAN_INPUT_TOKENS,
        energy_curves,
        energy_to_json,
        read_energy_reference,
        validate_energy_rows,
    )

    rows = read_energy_reference(reference)
    data = energy_to_json(validate_energy_rows(rows))
    if html is not None:
        from ador.report.energy_figures import energy_vs_batch, energy_vs_batch_data
        from ador.spec.io import write_text_atomic

        fig = energy_vs_batch(energy_vs_batch_data(energy_curves(rows), data["rows"]))
        write_text_atomic(html, fig.to_html(include_plotlyjs=True, full_html=True))
    if as_json:
        print_json(data)
        return
    table = Table(title=f"power and energy under serving load: {reference}")
    for col in ("id", "hardware", "model", "prec", "tp", "cap", "batch", "clock", "metric",
                "predicted", "measured", "error"):
        table.add_column(col, justify="left" if col in {"id", "hardware", "model", "prec",
                                                        "metric"} else "right",
                         overflow="fold")  # at 80 columns cells wrap, never cut
    for r in data["rows"]:
        pred = "-" if r["predicted"] is None else f"{r['predicted']:.4g}"
        err = r["error"] if r["error"] else f"{r['signed_error']:+.1%}"
        clock = "-" if r["clock_fraction"] is None else f"{r['clock_fraction']:.0%}"
        table.add_row(r["id"], r["hardware"], r["model"], r["precision"], str(r["tp"]),
                      str(r["max_num_seqs"]), str(r["batch"] or "-"), clock,
                      f"{r['metric']} [{r['unit']}]", pred, f"{r['measured']:.4g}", err)
    console.print(table)
    print_groups(data, note=f"; mean input length assumed {ASSUMED_MEAN_INPUT_TOKENS} tokens "
                            f"where a row gives none")
