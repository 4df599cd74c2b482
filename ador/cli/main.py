"""The `ador` command: parses options, calls the library, prints. Errors exit 2, one line."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from ador.cli.area_cmd import area_cmd
from ador.cli.calibrate_cmd import calibrate_cmd
from ador.cli.cluster_cmd import cluster_cmd
from ador.cli.common import err_console
from ador.cli.compare_cmd import compare_cmd
from ador.cli.evaluate_cmd import evaluate_cmd
from ador.cli.explore_cmd import explore_cmd, sweep_cmd
from ador.cli.list_cmd import list_cmd
from ador.cli.policies_cmd import policies_cmd
from ador.cli.report_cmd import plot_app, report_cmd
from ador.cli.serve_cmd import serve_cmd
from ador.cli.spec_cmd import spec_app
from ador.cli.validate_cmd import validate_cmd
from ador.errors import AdorError, short_repr

app = typer.Typer(
    name="ador",
    help="Design LLM-serving accelerators: evaluate, serve, validate, compare and search designs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("evaluate")(evaluate_cmd)
app.command("serve")(serve_cmd)
app.command("cluster")(cluster_cmd)
app.command("policies")(policies_cmd)
app.command("explore")(explore_cmd)
app.command("sweep")(sweep_cmd)
app.add_typer(spec_app, name="spec")
app.command("report")(report_cmd)
app.add_typer(plot_app, name="plot")
app.command("calibrate")(calibrate_cmd)
app.command("validate")(validate_cmd)
app.command("compare")(compare_cmd)
app.command("area")(area_cmd)
app.command("list")(list_cmd)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("ador")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree
            text = "unknown (not installed)"
        typer.echo(f"ador {text}")
        raise typer.Exit(0)


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_version,
                                          is_eager=True, help="print the version and exit")
             ) -> None:
    """Design LLM-serving accelerators: evaluate, validate, compare and search designs."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=False)
    except AdorError as err:
        err_console.print(f"[red]error:[/red] {escape(err.message())}", highlight=False,
                          soft_wrap=True)
        sys.exit(2)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as err:  # usage errors and exits, from click or the copy typer bundles
        code = getattr(err, "exit_code", None)
        if not isinstance(code, int):
            raise
        message = getattr(err, "format_message", None)
        if callable(message):  # a usage error: one line, with where to find help
            ctx = getattr(err, "ctx", None)
            path = ctx.command_path if ctx is not None else "ador"
            text = " ".join(str(message()).split())
            given = _given(err, sys.argv[1:] if argv is None else argv)
            if given is not None:
                text += f" (got {short_repr(given)})"
            err_console.print(f"[red]error:[/red] {escape(text)} (see '{escape(path)} --help')",
                              highlight=False, soft_wrap=True)
            sys.exit(2)
        sys.exit(code)


def _given(err: Exception, argv: list[str]) -> str | None:
    """The text given on the command line for the option a usage error is about."""
    opts = getattr(getattr(err, "param", None), "opts", None) or []
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                return str(argv[i + 1])
            if opt.startswith("--") and arg.startswith(opt + "="):
                return arg.split("=", 1)[1]
    return None


if __name__ == "__main__":  # pragma: no cover
    main()
