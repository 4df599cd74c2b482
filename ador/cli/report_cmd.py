"""`ador report` (a run folder as one HTML page plus images) and `ador plot` (one figure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ador.cli.common import console, err_console
from ador.errors import AdorError

if TYPE_CHECKING:
    from ador.report.html import Report
    from ador.report.policy_report import PolicyReport
    from ador.report.serving_report import ServingReport

plot_app = typer.Typer(help="Draw one figure of a run folder (HTML, SVG or PNG).",
                       no_args_is_help=True)

SUFFIXES = (".html", ".svg", ".png")


def _read_json(path: Path | None, option: str) -> Any:
    if path is None:
        return None
    if not path.is_file():
        raise AdorError("file does not exist", file=str(path), field=option)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AdorError(f"not valid JSON ({err})", file=str(path), field=option) from None


def _validation(path: Path | None) -> Any:
    """Validation rows from a reference CSV (predicted now) or a saved validation JSON."""
    if path is not None and path.suffix.lower() == ".csv":
        if not path.is_file():
            raise AdorError("file does not exist", file=str(path), field="--validation")
        from ador.validation.compare import to_json, validate_rows
        from ador.validation.reference import read_reference

        return to_json(validate_rows(read_reference(path)))
    return _read_json(path, "--validation")


def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="run folder written by 'ador explore', "
                                                 "'ador serve' or 'ador policies'")],
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="image format of each figure: svg or png")] = "svg",
    images: Annotated[bool, typer.Option(help="also write each figure as an image "
                                              "(needs a Chromium browser)")] = True,
    validation: Annotated[Path | None, typer.Option(
        help="reference CSV of measured figures (as for 'ador validate'), or the JSON of "
             "'ador validate --json': adds a predicted-vs-measured figure")] = None,
    area: Annotated[Path | None, typer.Option(
        help="JSON of 'ador area HW --json' to add an area and power figure")] = None,
) -> None:
    """Write RUN_DIR/report.html (self-contained, offline) and RUN_DIR/figures/*.svg|png.

    A serving run folder ('ador serve') gets its latency CDFs, batch size and KV occupancy
    over time, and latency and attainment versus rate (with --goodput). A policy comparison
    ('ador policies') gets its goodput-per-chip table, attainment versus rate, TTFT/TPOT
    percentiles, pool utilisation and KV occupancy."""
    from ador.report.browser import BrowserError
    from ador.report.export import FORMATS, export_images
    from ador.report.html import build_report, render_html
    from ador.report.run import load_run
    from ador.spec.io import write_text_atomic

    if fmt not in FORMATS:
        raise AdorError(f"image format must be one of {', '.join(FORMATS)}", field="--format",
                        value=fmt)
    from ador.serve.policy_runfolder import is_policy_run
    from ador.serve.runfolder import is_serving_run

    if (validation is not None or area is not None) and (
            is_serving_run(run_dir) or is_policy_run(run_dir)):
        raise AdorError("--validation and --area apply to search run folders, not to a "
                        "serving run or a policy comparison",
                        field="--validation" if validation else "--area")
    if is_policy_run(run_dir):
        from ador.report.policy_report import build_policy_report, render_policy_html
        from ador.serve.policy_runfolder import load_policy_run

        policies = build_policy_report(load_policy_run(run_dir))
        report: Report | ServingReport | PolicyReport = policies
        html_text = render_policy_html(policies)
    elif is_serving_run(run_dir):
        from ador.report.serving_report import build_serving_report, render_serving_html
        from ador.serve.runfolder import load_serving_run

        serving = build_serving_report(load_serving_run(run_dir))
        report = serving
        html_text = render_serving_html(serving)
    else:
        search = build_report(load_run(run_dir), validation=_validation(validation),
                              area=_read_json(area, "--area"))
        report = search
        html_text = render_html(search)
    run = report.run
    out = run.path / "report.html"
    write_text_atomic(out, html_text)
    console.print(f"wrote {out} ({len(report.sections)} figures)")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    if not images:
        return
    try:
        written = export_images(report.figures, run.path / "figures", fmt=fmt)
    except BrowserError as err:
        err_console.print(f"[yellow]warning:[/yellow] figure images not written: "
                          f"{err.message()}; the HTML report is complete without them",
                          highlight=False, soft_wrap=True)
        return
    console.print(f"wrote {len(written)} {fmt.upper()} images to {run.path / 'figures'}")


@plot_app.command("pareto")
def plot_pareto(
    run_dir: Annotated[Path, typer.Argument(help="run folder written by 'ador explore'")],
    x: Annotated[str | None, typer.Option("--x", help="objective on the x axis, e.g. "
                                                      "throughput_per_chip, tpot, area")] = None,
    y: Annotated[str | None, typer.Option("--y", help="objective on the y axis")] = None,
    z: Annotated[str | None, typer.Option("--z", help="third objective: a 3-D plot")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write: .html, .svg "
                                             "or .png (default RUN_DIR/pareto-X-Y.html)")] = None,
) -> None:
    """Scatter of all designs with the Pareto set and the GPU baselines marked."""
    from ador.report import figdata, figures
    from ador.report.export import export_images
    from ador.report.html import PLOTLY_CONFIG, default_axes
    from ador.report.run import load_run
    from ador.spec.io import write_text_atomic

    if out is not None and out.suffix.lower() not in SUFFIXES:
        raise AdorError(f"output must end in {', '.join(SUFFIXES)}", field="--out",
                        value=str(out))
    run = load_run(run_dir)
    defaults = default_axes(run, 3)
    cols = run.designs.columns
    axes = []
    for i, (opt, name) in enumerate((("--x", x), ("--y", y), ("--z", z))):
        if name is not None:
            axes.append(figdata.resolve_metric(name, cols, field=opt))
        elif i < 2:
            if len(defaults) <= i:
                raise AdorError("designs.csv has no metric for this axis; name one",
                                file=str(run.path / "designs.csv"), field=opt)
            axes.append(next(m for m in defaults if m not in axes))
    if len({a.column for a in axes}) != len(axes):
        raise AdorError("axes must show different objectives", field="--y",
                        value=[a.name for a in axes])
    data = figdata.pareto_scatter_data(run.designs, run.pareto, run.baselines, axes=axes,
                                       knobs=run.knobs, knob_units=run.knob_units)
    fig = figures.pareto_scatter(data, axes)
    if out is None:
        out = run.path / ("pareto-" + "-".join(a.name for a in axes) + ".html")
    suffix = out.suffix.lower()
    if suffix == ".html":
        write_text_atomic(out, fig.to_html(include_plotlyjs=True, include_mathjax=False,
                                           config=PLOTLY_CONFIG, full_html=True))
    else:
        written = export_images({out.stem: fig}, out.parent, fmt=suffix[1:])
        if written[0] != out:
            written[0].replace(out)
    console.print(f"wrote {out}")
