"""The ``credgate`` command: entry point, command groups and the one error handler."""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from gateway import __version__
from gateway.cli import ca, nodes, status
from gateway.cli.exit_codes import exit_code_for
from gateway.cli.logs import configure_logging
from gateway.errors import GatewayError

app = typer.Typer(
    name="credgate",
    help="Consortium gateway for consumer-credit sharing without moving records.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(ca.app, name="ca")
app.add_typer(nodes.bureau_app, name="bureau")
app.add_typer(nodes.node_app, name="node")
app.command("status")(status.status)
app.command("doctor")(status.doctor)
for _module in (
    "gateway.cli.importing",
    "gateway.cli.synth",
    "gateway.cli.queries",
    "gateway.cli.subject",
    "gateway.cli.members_secret",
    "gateway.cli.peers",
    "gateway.cli.blacklist",
    "gateway.cli.redact",
    "gateway.cli.reports",
    "gateway.cli.demo",
    "gateway.cli.score",
    "gateway.cli.model",
    "gateway.cli.train",
    "gateway.cli.features",
    "gateway.cli.audit",
    "gateway.cli.keys",
    "gateway.cli.init",
    "gateway.cli.contact",
    "gateway.cli.complaints",
    "gateway.cli.conduct",
):
    import_module(_module).register(app)

_VERBOSE_ENV = "CREDGATE_VERBOSE"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"credgate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", envvar=_VERBOSE_ENV, help="Show tracebacks instead of one-line errors."
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(envvar="CREDGATE_LOG_LEVEL")] = "INFO",
    log_json: Annotated[bool, typer.Option(envvar="CREDGATE_LOG_JSON", help="Log JSON lines.")] = False,
) -> None:
    if verbose:
        os.environ[_VERBOSE_ENV] = "1"
    configure_logging(level=log_level.upper(), json_lines=log_json)


def main() -> None:
    """Run the CLI; a :class:`GatewayError` becomes one line on stderr and its exit code."""
    try:
        app()
    except GatewayError as exc:
        if os.environ.get(_VERBOSE_ENV):
            raise
        # Messages name TOML sections ("[bureau] address"): escaped, or rich takes them for markup.
        Console(stderr=True).print(f"[red]error:[/] {escape(exc.message)}", highlight=False)
        sys.exit(exit_code_for(exc))


__all__ = ["__version__", "app", "main"]
