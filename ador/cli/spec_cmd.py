"""`ador spec`: validate spec files and write the JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ador.cli.common import console
from ador.errors import AdorError
from ador.spec.io import validate_file, write_text_atomic
from ador.spec.space import SpaceSpec

spec_app = typer.Typer(help="Validate spec files and export JSON Schemas of every spec kind.",
                       no_args_is_help=True)


@spec_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="YAML spec files")]) -> None:
    """Check hardware, model, scenario, design-space or problem YAML files; exit 2 if any
    is bad (one line each)."""
    failures = []
    for path in files:
        try:
            spec = validate_file(path)
            if isinstance(spec, SpaceSpec):  # resolve the base template and every level
                from ador.search.space import load_design_space

                load_design_space(path)
        except AdorError as err:
            failures.append(err)
            continue
        console.print(f"[green]ok[/green] {path} ({type(spec).__name__})")
    if failures:
        for failure in failures[:-1]:
            console.print(f"[red]error:[/red] {escape(failure.message())}", highlight=False)
        raise failures[-1]


@spec_app.command("schema")
def schema(out: Annotated[Path | None, typer.Option("--out", "-o",
                                                     help="file to write (default stdout)")] = None,
           kind: Annotated[str, typer.Option(help="hardware, model, scenario, space or problem"
                                             " (default: hardware)")] = "hardware",
           ) -> None:
    """Write the JSON Schema of a spec kind (for editors and validators): quantities as unit
    strings, with a description, unit and default for every field."""
    from ador.spec.schema import KINDS, json_schema_text

    if kind not in KINDS:
        raise AdorError(f"unknown spec kind; one of {', '.join(KINDS)}", field="--kind",
                        value=kind)
    text = json_schema_text(kind)
    if out is None:
        typer.echo(text)
    else:
        write_text_atomic(out, text + "\n")
        console.print(f"wrote {out}")
