"""`ador list`: the hardware templates, models, design spaces and problems ador knows."""

from __future__ import annotations

from typing import Annotated

import typer

from ador.cli.common import console, print_json
from ador.spec.io import ALIASES, list_models, list_problems, list_spaces, list_templates

KINDS = ("templates", "models", "spaces", "problems")


def list_cmd(
    kind: Annotated[str | None, typer.Argument(
        help="one of: templates, models, spaces, problems (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """List the names that commands accept: hardware templates (with their short aliases),
    models, design spaces and problem files."""
    from ador.errors import AdorError

    names = {"templates": list_templates(), "models": list_models(),
             "spaces": list_spaces(), "problems": list_problems()}
    if kind is not None:
        if kind.lower() not in names:
            raise AdorError(f"unknown kind; choose one of {', '.join(KINDS)}", field="kind",
                            value=kind)
        names = {kind.lower(): names[kind.lower()]}
    if as_json:
        print_json(names)
        return
    short = {full: alias for alias, full in ALIASES.items()}
    for group, items in names.items():
        console.print(f"[bold]{group}[/bold]", highlight=False)
        for name in items:
            alias = f"  (alias {short[name]})" if group == "templates" and name in short else ""
            console.print(f"  {name}{alias}", highlight=False)
