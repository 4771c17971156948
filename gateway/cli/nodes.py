"""``credgate bureau start`` and ``credgate node start``: long-lived node processes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.config import Settings
from gateway.node.runtime import oprf_key_folder, run_until_signalled, start_bureau, start_member
from gateway.tokens.oprf.keyring import OPRFKeyRing

ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]

bureau_app = typer.Typer(help="Run the bureau (directory, routing, aggregation hub).", no_args_is_help=True)
node_app = typer.Typer(help="Run a member node next to its loan book.", no_args_is_help=True)


@bureau_app.command("start")
def bureau_start(config: ConfigOption) -> None:
    """Start the bureau and serve until SIGTERM or SIGINT."""
    run_until_signalled(start_bureau(Settings.from_file(config)))


@bureau_app.command("rotate-key")
def bureau_rotate_key(config: ConfigOption) -> None:
    """Start a new OPRF key epoch; members must tokenise their books again (credgate tokenise)."""
    epoch = OPRFKeyRing.load_or_create(oprf_key_folder(Settings.from_file(config))).rotate()
    typer.echo(f"OPRF key epoch {epoch} is now current; ask every member to run `credgate tokenise`")


@node_app.command("start")
def node_start(config: ConfigOption) -> None:
    """Start a member node, register with the bureau and serve until SIGTERM or SIGINT."""
    run_until_signalled(start_member(Settings.from_file(config)))
